; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions
; (namespaces, classes, templates, a header guard's `#ifndef`).
(function_definition
  declarator: [
    (function_declarator declarator: [(identifier) (field_identifier) (destructor_name) (operator_name)] @name)
    (function_declarator declarator: (qualified_identifier name: (_) @name))
    (pointer_declarator declarator: (function_declarator declarator: (_) @name))
    (reference_declarator (function_declarator declarator: (_) @name))
  ]
  body: (_)? @body) @definition
(declaration
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
  ]) @definition
(field_declaration declarator: (function_declarator declarator: (field_identifier) @name)) @definition
(class_specifier name: (_) @name body: (_) @body @members) @outline
(struct_specifier name: (_) @name body: (_) @body @members) @outline
(union_specifier name: (_) @name body: (_) @body) @outline
(enum_specifier name: (_) @name body: (_) @body) @outline
(type_definition declarator: (type_identifier) @name) @outline
(alias_declaration name: (_) @name) @outline
(preproc_def name: (_) @name) @definition
(preproc_function_def name: (_) @name) @definition
(namespace_definition body: (_) @members)
(template_declaration) @members
(declaration type: [(struct_specifier) (class_specifier) (union_specifier) (enum_specifier)]) @members
(preproc_ifdef) @members
(preproc_if) @members
(linkage_specification body: (_) @members)

; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions (a header
; guard's `#ifndef`, `extern "C" {`).
(function_definition
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
  ]
  body: (_) @body) @definition
(declaration
  declarator: [
    (function_declarator declarator: (identifier) @name)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name))
  ]) @definition
(struct_specifier name: (_) @name body: (_) @body) @outline
(union_specifier name: (_) @name body: (_) @body) @outline
(enum_specifier name: (_) @name body: (_) @body) @outline
(type_definition declarator: (type_identifier) @name) @outline
(preproc_def name: (_) @name) @definition
(preproc_function_def name: (_) @name) @definition
(declaration type: [(struct_specifier) (union_specifier) (enum_specifier)]) @members
(preproc_ifdef) @members
(preproc_if) @members
(linkage_specification body: (_) @members)

; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions.
; Shared by TypeScript and TSX.
(function_declaration name: (_) @name body: (_) @body) @definition
(generator_function_declaration name: (_) @name body: (_) @body) @definition
(function_signature name: (_) @name) @definition
(class_declaration name: (_) @name body: (_) @body @members) @outline
(abstract_class_declaration name: (_) @name body: (_) @body @members) @outline
(method_definition name: (_) @name body: (_) @body) @definition
(method_signature name: (_) @name) @definition
(abstract_method_signature name: (_) @name) @definition
(interface_declaration name: (_) @name body: (_) @body) @outline
(type_alias_declaration name: (_) @name value: (_) @body) @outline
(enum_declaration name: (_) @name body: (_) @body) @outline
(internal_module name: (_) @name body: (_) @body @members) @definition
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression)] @body)) @definition
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(object) (array) (number) (string) (template_string) (new_expression)] @body)) @outline
(export_statement) @members
(ambient_declaration) @members
(expression_statement (internal_module) @members)

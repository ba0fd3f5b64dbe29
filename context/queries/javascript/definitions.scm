; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions.
(function_declaration name: (_) @name body: (_) @body) @definition
(generator_function_declaration name: (_) @name body: (_) @body) @definition
(class_declaration name: (_) @name body: (_) @body @members) @outline
(method_definition name: (_) @name body: (_) @body) @definition
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression)] @body)) @definition
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(object) (array) (number) (string) (template_string) (new_expression)] @body)) @outline
(export_statement) @members

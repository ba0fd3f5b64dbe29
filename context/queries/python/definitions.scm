; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions.
; Decorators above a definition are shown through the table's doc prefixes (`@`).
(function_definition name: (_) @name body: (_) @body) @definition
(class_definition name: (_) @name body: (_) @body @members) @outline
(decorated_definition) @members

; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions.
(function_definition name: (_) @name body: (_) @body) @definition
(class_declaration name: (_) @name body: (_) @body @members) @outline
(interface_declaration name: (_) @name body: (_) @body @members) @outline
(trait_declaration name: (_) @name body: (_) @body @members) @outline
(enum_declaration name: (_) @name body: (_) @body) @outline
(method_declaration name: (_) @name body: (_)? @body) @definition
(namespace_definition body: (_) @members)

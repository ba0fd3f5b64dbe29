; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions.
(class_declaration name: (_) @name body: (_) @body @members) @outline
(interface_declaration name: (_) @name body: (_) @body @members) @outline
(enum_declaration name: (_) @name body: (_) @body) @outline
(record_declaration name: (_) @name body: (_) @body @members) @outline
(method_declaration name: (_) @name body: (_)? @body) @definition
(constructor_declaration name: (_) @name body: (_) @body) @definition
(field_declaration declarator: (variable_declarator name: (_) @name)) @definition

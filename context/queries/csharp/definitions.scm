; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions.
(class_declaration name: (_) @name body: (_) @body @members) @outline
(struct_declaration name: (_) @name body: (_) @body @members) @outline
(interface_declaration name: (_) @name body: (_) @body @members) @outline
(record_declaration name: (_) @name body: (_)? @body @members) @outline
(enum_declaration name: (_) @name body: (_) @body) @outline
(method_declaration name: (_) @name body: (_)? @body) @definition
(constructor_declaration name: (_) @name body: (_) @body) @definition
(property_declaration name: (_) @name accessors: (_)? @body) @definition
(delegate_declaration name: (_) @name) @definition
(namespace_declaration body: (_) @members)
(file_scoped_namespace_declaration) @members

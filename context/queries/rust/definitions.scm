; Definitions other files may use. `@definition` shows its lines up to the body
; (a signature), `@outline` its first body lines too (fields, variants);
; `@members` holds more definitions (one or two levels in).
(function_item name: (_) @name body: (_) @body) @definition
(function_signature_item name: (_) @name) @definition
(trait_item name: (_) @name body: (_) @body @members) @definition
(mod_item name: (_) @name body: (_)? @body @members) @definition
(macro_definition name: (_) @name) @definition
(struct_item name: (_) @name body: (_)? @body) @outline
(enum_item name: (_) @name body: (_) @body) @outline
(union_item name: (_) @name body: (_) @body) @outline
(type_item name: (_) @name) @outline
(const_item name: (_) @name) @outline
(static_item name: (_) @name) @outline
(impl_item body: (_) @members)

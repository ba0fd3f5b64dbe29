; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too (a struct's fields, an interface's methods).
(function_declaration name: (_) @name body: (_)? @body) @definition
(method_declaration name: (_) @name body: (_)? @body) @definition
(type_declaration (type_spec name: (_) @name type: (_) @body)) @outline
(type_declaration (type_alias name: (_) @name)) @outline
(const_declaration (const_spec name: (_) @name)) @outline
(var_declaration (var_spec name: (_) @name)) @outline

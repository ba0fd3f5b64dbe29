; TypeScript's definitions beyond JavaScript's (`queries/javascript/definitions.scm`
; comes first). Shared by TypeScript and TSX.
(function_signature name: (_) @name) @definition
(abstract_class_declaration name: (_) @name body: (_) @body @members) @outline
(method_signature name: (_) @name) @definition
(abstract_method_signature name: (_) @name) @definition
(interface_declaration name: (_) @name body: (_) @body) @outline
(type_alias_declaration name: (_) @name value: (_) @body) @outline
(enum_declaration name: (_) @name body: (_) @body) @outline
(internal_module name: (_) @name body: (_) @body @members) @definition
(ambient_declaration) @members
(expression_statement (internal_module) @members)

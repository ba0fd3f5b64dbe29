; TypeScript's scopes beyond JavaScript's (`queries/javascript/scopes.scm` comes first).
; Shared by TypeScript and TSX.
(abstract_class_declaration body: (_) @body) @scope
(interface_declaration body: (_) @body) @scope
(enum_declaration body: (_) @body) @scope
(internal_module body: (_) @body) @scope

; Scopes whose header lines are kept above a prompt's cut. `@scope` is the node,
; `@body` marks where its header ends.
(class_declaration body: (_) @body) @scope
(interface_declaration body: (_) @body) @scope
(enum_declaration body: (_) @body) @scope
(record_declaration body: (_) @body) @scope
(method_declaration body: (_)? @body) @scope
(constructor_declaration body: (_) @body) @scope
(lambda_expression body: (block) @body) @scope

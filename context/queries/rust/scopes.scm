; Scopes whose header lines are kept above a prompt's cut. `@scope` is the node,
; `@body` marks where its header ends (the header runs to what precedes the body).
(function_item body: (_) @body) @scope
(impl_item body: (_) @body) @scope
(trait_item body: (_) @body) @scope
(mod_item body: (_)? @body) @scope
(struct_item body: (_)? @body) @scope
(enum_item body: (_) @body) @scope
(union_item body: (_) @body) @scope
(macro_definition) @scope
(closure_expression body: (_) @body) @scope

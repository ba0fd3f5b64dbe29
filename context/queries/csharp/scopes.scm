; Scopes whose header lines are kept above a prompt's cut. `@scope` is the node,
; `@body` marks where its header ends.
(namespace_declaration body: (_) @body) @scope
(class_declaration body: (_) @body) @scope
(struct_declaration body: (_) @body) @scope
(interface_declaration body: (_) @body) @scope
(record_declaration body: (_)? @body) @scope
(enum_declaration body: (_) @body) @scope
(method_declaration body: (_)? @body) @scope
(constructor_declaration body: (_) @body) @scope
(local_function_statement body: (_) @body) @scope
(property_declaration accessors: (_) @body) @scope
(lambda_expression body: (block) @body) @scope

; Scopes whose header lines are kept above a prompt's cut. `@scope` is the node,
; `@body` marks where its header ends.
(function_declaration body: (_) @body) @scope
(generator_function_declaration body: (_) @body) @scope
(function_expression body: (_) @body) @scope
(generator_function body: (_) @body) @scope
(arrow_function body: (statement_block) @body) @scope
(method_definition body: (_) @body) @scope
(class_declaration body: (_) @body) @scope
(class body: (_) @body) @scope

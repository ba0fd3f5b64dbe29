; Scopes whose header lines are kept above a prompt's cut. `@scope` is the node,
; `@body` marks where its header ends (the line before the body's first statement).
(module body: (_)? @body) @scope
(class body: (_)? @body) @scope
(singleton_class body: (_)? @body) @scope
(method body: (_)? @body) @scope
(singleton_method body: (_)? @body) @scope
(do_block body: (_)? @body) @scope
(lambda body: (_) @body) @scope

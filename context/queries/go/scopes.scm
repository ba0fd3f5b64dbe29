; Scopes whose header lines are kept above a prompt's cut. `@scope` is the node,
; `@body` marks where its header ends.
(function_declaration body: (_) @body) @scope
(method_declaration body: (_) @body) @scope
(func_literal body: (_) @body) @scope
(type_declaration) @scope

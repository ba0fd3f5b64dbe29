; Scopes whose header lines are kept above a prompt's cut. `@scope` is the node,
; `@body` marks where its header ends (the `:` before a block; a decorated
; definition's header is its decorators).
(function_definition body: (_) @body) @scope
(class_definition body: (_) @body) @scope
(decorated_definition definition: (_) @body) @scope

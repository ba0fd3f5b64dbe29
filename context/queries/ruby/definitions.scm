; Definitions other files may use. `@definition` shows its lines up to the body,
; `@outline` its first body lines too; `@members` holds more definitions.
(method name: (_) @name body: (_)? @body) @definition
(singleton_method name: (_) @name body: (_)? @body) @definition
(class name: (_) @name body: (_)? @body @members) @outline
(module name: (_) @name body: (_)? @body @members) @definition
(assignment left: (constant) @name right: (_) @body) @outline

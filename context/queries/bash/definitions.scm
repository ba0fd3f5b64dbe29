; Definitions other files may use (sourced scripts): functions and variables set at the top.
(function_definition name: (_) @name body: (_) @body) @definition
(variable_assignment name: (_) @name) @definition
(declaration_command (variable_assignment name: (_) @name)) @definition

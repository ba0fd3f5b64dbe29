; Top-level commands that bring names from elsewhere.
((command name: (command_name) @_command) @import
  (#any-of? @_command "source" "."))

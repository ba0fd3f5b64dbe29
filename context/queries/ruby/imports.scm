; Top-level calls that bring names from elsewhere.
((call method: (identifier) @_method) @import
  (#any-of? @_method "require" "require_relative" "include" "extend"))

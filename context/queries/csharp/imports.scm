; Top-level directives whose names come from elsewhere.
(using_directive) @import

; Top-level declarations whose names come from elsewhere.
(namespace_use_declaration) @import

; Top-level declarations whose names (the packages' last path parts) come from elsewhere.
(import_declaration) @import

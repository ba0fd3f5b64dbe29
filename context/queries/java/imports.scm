; Top-level declarations whose names come from elsewhere.
(import_declaration) @import

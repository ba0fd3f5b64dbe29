; Top-level items whose names come from elsewhere.
(use_declaration) @import

; Top-level statements whose names come from elsewhere.
(import_statement) @import
(import_from_statement) @import

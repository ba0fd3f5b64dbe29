; Top-level declarations whose names come from elsewhere (`#include` names files).
(using_declaration) @import
(alias_declaration) @import

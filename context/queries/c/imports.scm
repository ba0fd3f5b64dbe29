; C's `#include` names files, not identifiers: no imports. Names used near the cursor
; and not defined in the file are looked up in the other open buffers.

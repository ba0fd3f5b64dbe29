//! Infill prompt builder and post-processing (being built; see ARCHITECTURE.md).

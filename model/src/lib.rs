//! Infill model engine: quantized GGUF code models on a thread of their own (being built; see ARCHITECTURE.md).

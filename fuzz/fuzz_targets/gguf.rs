//! libFuzzer entry for the `gguf` target (its body: `infill_fuzzing::gguf`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| infill_fuzzing::gguf::run(data));

//! libFuzzer entry for the `tokenizer` target (its body: `infill_fuzzing::tokenizer`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| infill_fuzzing::tokenizer::run(data));

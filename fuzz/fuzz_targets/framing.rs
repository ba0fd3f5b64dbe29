//! libFuzzer entry for the `framing` target (its body: `infill_fuzzing::framing`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| infill_fuzzing::framing::run(data));

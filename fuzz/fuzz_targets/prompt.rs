//! libFuzzer entry for the `prompt` target (its body: `infill_fuzzing::prompt`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| infill_fuzzing::prompt::run(data));

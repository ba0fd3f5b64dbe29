//! libFuzzer entry for the `documents` target (its body: `infill_fuzzing::documents`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| infill_fuzzing::documents::run(data));

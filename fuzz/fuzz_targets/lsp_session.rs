//! libFuzzer entry for the `lsp_session` target (its body: `infill_fuzzing::lsp_session`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| infill_fuzzing::lsp_session::run(data));

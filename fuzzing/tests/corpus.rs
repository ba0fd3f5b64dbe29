//! Every saved input of every fuzz target (`fuzz/corpus/<target>/`: the seeds and every
//! input that once found a bug) runs through its target on stable, in every test run.

use std::path::PathBuf;

use infill_fuzzing::TARGETS;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_saved_input_passes_its_target() {
    std::env::set_var("INFILL_TEST_MODEL", infill_tests::test_model());
    for target in TARGETS {
        let files = corpus(target.name);
        assert!(files.len() >= 3, "{}: only {} saved inputs", target.name, files.len());
        for file in files {
            let data = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let outcome = std::panic::catch_unwind(|| (target.run)(&data));
            assert!(outcome.is_ok(), "{} fails on {}", target.name, file.display());
        }
    }
}

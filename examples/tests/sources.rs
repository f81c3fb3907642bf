//! The sources each example carries (`Example::source` and `Example::python`), on both
//! targets: every example's Rust source is the module that holds its body, and every example
//! the crate's table gives a seed has the Python original it translates, one that names it.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// The crate's documentation, whose table names each example's seed.
const CRATE_DOCS: &str = include_str!("../src/lib.rs");

/// Each example, the opening of the module that holds its body, and the body's function there.
const MODULES: &[(&str, &str, &str)] = &[
    ("bank-account", "//! Seed 002, \"Lock\"", "fn run("),
    ("early-stop", "//! Seed 004, \"Early stop\"", "fn run("),
    (
        "shared-memory",
        "//! Seed 001, \"shared memory\"",
        "fn run(",
    ),
    ("producer-consumer", "//! Seed 001, \"Queue\"", "fn run("),
    ("pipe", "//! Seed 001, \"Pipe\"", "fn run("),
    ("queue-workers-lock", "//! Seed 004, \"Lock\"", "fn run("),
    (
        "queue-workers-semaphore",
        "//! Seed 004, \"Semaphore\"",
        "fn run(",
    ),
    (
        "washer-dryer",
        "//! Seed 004, \"Multiprocessing with Queue\"",
        "fn run(",
    ),
    ("pool", "//! Seed 004, \"Pool\"", "fn run<F: Family>("),
    (
        "process-pool",
        "//! Seed 004, \"Pool\"",
        "fn run<F: Family>(",
    ),
    (
        "pool-executor",
        "//! Seed 001, \"process pool\"",
        "fn run<F: Family>(",
    ),
    (
        "process-pool-executor",
        "//! Seed 001, \"process pool\"",
        "fn run<F: Family>(",
    ),
    (
        "cpu-speedup",
        "//! Seed 001, \"CPU-bound comparison\"",
        "fn run(",
    ),
    (
        "process-cpu-speedup",
        "//! Seed 001, \"CPU-bound comparison\"",
        "fn run_with_processes(",
    ),
    (
        "image-processing",
        "//! Seed 001, \"parallel image processing",
        "fn run(",
    ),
    ("four-processes", "//! Seed 004, \"Do 4 times\"", "fn run("),
    ("daemon", "//! Seed 004, \"Daemon process\"", "fn run("),
    (
        "manager",
        "//! Seed 001, \"Manager shared objects\"",
        "fn run(",
    ),
    (
        "distributed-squares",
        "//! `distributed-squares`",
        "fn run(",
    ),
    (
        "manager-dict",
        "//! Seed 003, the tour's `Manager` part",
        "fn run(",
    ),
    (
        "attacks-threads",
        "//! Seed 000, \"random attacks\"",
        "fn run<F: Family>(",
    ),
    (
        "attacks-processes",
        "//! Seed 000, \"random attacks\"",
        "fn run<F: Family>(",
    ),
    ("downloads", "//! Seed 002, \"two downloads\"", "fn run("),
    (
        "primitives-tour",
        "//! Seed 003, \"the synchronisation primitives",
        "fn run(",
    ),
    (
        "thread-jobs",
        "//! Seed 004, \"jobs on threads\"",
        "fn run(",
    ),
    (
        "thread-info",
        "//! Seed 004, \"thread information\"",
        "fn run(",
    ),
    ("timer", "//! Seed 004, `threading.Timer`", "fn run("),
    ("daemon-threads", "//! Seed 004, daemon threads", "fn run("),
    (
        "process-basics",
        "//! Seed 001, \"process basics\"",
        "fn run(",
    ),
    ("start-methods", "//! Seed 001, start methods", "fn run("),
];

/// The rows of the crate's example table: each example's name and its seed column.
fn table() -> Vec<(&'static str, &'static str)> {
    CRATE_DOCS
        .lines()
        .filter_map(|line| line.strip_prefix("//! | `"))
        .filter_map(|row| {
            let (name, rest) = row.split_once("` | ")?;
            let (seed, _) = rest.split_once(" | ")?;
            Some((name, seed))
        })
        .collect()
}

conformance! {
    fn every_source_is_the_module_of_its_body() {
        let examples = amphi_examples::list();
        assert_eq!(examples.len(), MODULES.len(), "an example without a row in MODULES, or a row too many");
        for &(name, opening, function) in MODULES {
            let example = amphi_examples::find(name).unwrap_or_else(|| panic!("no example {name}"));
            assert!(example.source.starts_with(opening), "{name}'s source opens with {:?}", example.source.lines().next());
            assert!(example.source.contains(&format!("pub(super) {function}")), "{name}'s source has no `{function}`");
        }
    }

    fn every_example_with_a_seed_has_its_python_original() {
        let rows = table();
        assert_eq!(rows.len(), amphi_examples::list().len(), "the table has a row for every example: {rows:?}");
        let mut originals = 0;
        for (name, seed) in rows {
            let example = amphi_examples::find(name).unwrap_or_else(|| panic!("the table names {name}, which is no example"));
            let has_seed = seed.len() == 3 && seed.bytes().all(|b| b.is_ascii_digit());
            match example.python {
                Some(python) => {
                    assert!(has_seed, "{name} has a Python original but no seed in the table ({seed:?})");
                    let header = python.lines().next().unwrap_or_default();
                    assert!(header.contains(&format!("`{name}`")), "{name}'s Python original does not name it: {header:?}");
                    assert!(python.contains(&format!("# Seed {seed}")), "{name}'s Python original does not name seed {seed}");
                    assert!(python.contains("import "), "{name}'s Python original imports nothing");
                    originals += 1;
                }
                None => assert!(!has_seed, "{name} has seed {seed} in the table but no Python original"),
            }
        }
        assert!(originals >= 28, "only {originals} Python originals");
    }
}

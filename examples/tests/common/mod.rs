//! Support for the examples' tests: the conformance suites' support (`tests/common` of the
//! `amphi` crate, so an example's test runs on both targets exactly as a conformance case does),
//! and [`run_ok`].

#![allow(dead_code)]

#[path = "../../../tests/common/mod.rs"]
#[macro_use]
mod conformance;

#[allow(unused_imports)] // natively the conformance macros call nothing from here
pub(crate) use conformance::*;

/// Runs the example `name` and asserts that its report is ok, with at least `checks` checks.
pub(crate) fn run_ok(name: &str, checks: usize) -> amphi_examples::Report {
    let report = amphi_examples::run(name, &Default::default());
    assert!(report.ok, "{name} failed: {report:#?}");
    assert!(
        report.checks.len() >= checks,
        "{name} made too few checks: {report:#?}"
    );
    report
}

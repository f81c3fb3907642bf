//! The Chrome trace-event rules a recorded trace must keep, written once for
//! `tests/trace.rs` (`amphi::trace::record` on both targets) and `native/tests/trace.rs` (the
//! CLI's `--trace` file): required fields on every event, complete slices with a duration,
//! slices on one thread nested (never partly overlapping), and every flow start matched by one
//! flow end with the same id, no earlier than the start. Also the child both suites stop
//! midway, to check that the slices it closed before survive.

use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use serde_json::Value;

/// `event[field]` as a number; panics naming the event if it is not one.
pub(crate) fn number(event: &Value, field: &str) -> f64 {
    event[field]
        .as_f64()
        .unwrap_or_else(|| panic!("{field} is not a number: {event}"))
}

/// `(pid, tid)` of `event`.
pub(crate) fn thread_of(event: &Value) -> (u64, u64) {
    (
        event["pid"].as_u64().expect("pid"),
        event["tid"].as_u64().expect("tid"),
    )
}

/// Checks the rules (see the module docs) on `events`, comparing timestamps with `slack_us`
/// microseconds of float slack; returns the complete slices (`"ph":"X"`).
pub(crate) fn check_trace_events(events: &[Value], slack_us: f64) -> Vec<&Value> {
    assert!(!events.is_empty(), "the trace has events");
    for event in events {
        assert!(event["name"].is_string(), "no name: {event}");
        let ph = event["ph"]
            .as_str()
            .unwrap_or_else(|| panic!("no ph: {event}"));
        assert!(
            ["X", "s", "f", "M"].contains(&ph),
            "unexpected phase: {event}"
        );
        number(event, "ts");
        assert!(event["pid"].is_u64(), "no pid: {event}");
        assert!(event["tid"].is_u64(), "no tid: {event}");
        if ph == "X" {
            assert!(number(event, "dur") >= 0.0, "negative duration: {event}");
        }
    }
    let slices: Vec<&Value> = events.iter().filter(|e| e["ph"] == "X").collect();

    // Slices on one thread nest: sorted by start (longest first on ties), each slice ends
    // before the innermost still-open slice that contains its start.
    let mut by_thread: HashMap<(u64, u64), Vec<(f64, f64)>> = HashMap::new();
    for slice in &slices {
        let start = number(slice, "ts");
        by_thread
            .entry(thread_of(slice))
            .or_default()
            .push((start, start + number(slice, "dur")));
    }
    for (thread, mut spans) in by_thread {
        spans.sort_by(|a, b| a.0.total_cmp(&b.0).then(b.1.total_cmp(&a.1)));
        let mut open: Vec<(f64, f64)> = Vec::new();
        for span in spans {
            while open.last().is_some_and(|top| top.1 <= span.0 + slack_us) {
                open.pop();
            }
            if let Some(top) = open.last() {
                assert!(
                    span.1 <= top.1 + slack_us,
                    "slices partly overlap on {thread:?}: {top:?} and {span:?}"
                );
            }
            open.push(span);
        }
    }

    // Every flow start has one end with the same id, no earlier than the start.
    let mut starts = HashMap::new();
    let mut ends = HashMap::new();
    for event in events {
        let flows = match event["ph"].as_str() {
            Some("s") => &mut starts,
            Some("f") => &mut ends,
            _ => continue,
        };
        let id = event["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("flow without id: {event}"));
        assert!(
            flows.insert(id, number(event, "ts")).is_none(),
            "flow id {id} twice"
        );
    }
    assert_eq!(
        starts.keys().collect::<BTreeSet<_>>(),
        ends.keys().collect::<BTreeSet<_>>(),
        "every flow start has its end and the other way round"
    );
    for (id, start) in &starts {
        assert!(
            ends[id] + slack_us >= *start,
            "flow {id} ends before it starts"
        );
    }
    slices
}

/// The name of [`finish_a_thread_then_sleep`]'s thread.
pub(crate) const FINISHED_THREAD: &str = "finished before the stop";

/// A child's target: runs a thread ([`FINISHED_THREAD`]) to its end, so one slice closes, says
/// so on `finished`, then sleeps until it is stopped.
pub(crate) fn finish_a_thread_then_sleep(finished: amphi::process::Event) {
    amphi::thread::Builder::new()
        .name(FINISHED_THREAD)
        .spawn(|| ())
        .expect("the child starts a thread")
        .join()
        .expect("the child's thread ends");
    finished.set();
    loop {
        amphi::thread::sleep(Duration::from_secs(3600)).expect("a child's thread may sleep");
    }
}

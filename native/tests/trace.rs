//! The trace of `amphi run --trace FILE`, run as a separate process and validated against the
//! Chrome trace-event format that Perfetto's JSON importer reads: required fields on every
//! event, complete slices with a duration, slices on one thread nested (never partly
//! overlapping), every flow start matched by one flow end, and children's events on the
//! parent's clock (inside the parent's run). Also `--timeline`'s rows, that a child killed
//! mid-run still leaves the slices it finished in the merged trace, and that without the
//! feature `trace` the core crate does not depend on `tracing` at all.

// The CLI is tested as a native process; its dev-dependencies are not built for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

#[path = "../../tests/common/trace_rules.rs"]
#[allow(dead_code)] // thread_of is for tests/trace.rs
mod trace_rules;
use trace_rules::{check_trace_events, finish_a_thread_then_sleep, number, FINISHED_THREAD};

/// How long a test lets an `amphi` process run before it kills it and fails.
const PATIENCE: Duration = Duration::from_secs(120);

/// Float slack for comparing microsecond timestamps computed from nanoseconds.
const SLACK_US: f64 = 0.01;

/// The `amphi` binary built from this crate, with a watchdog.
fn amphi() -> Command {
    let mut command = Command::cargo_bin("amphi").expect("the amphi binary is built for the tests");
    command.timeout(PATIENCE);
    command
}

/// A fresh directory for one test's files.
fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("amphi-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the scratch directory can be made");
    dir
}

#[test]
fn trace_of_thread_and_process_pools_is_valid_trace_event_json() {
    let dir = scratch("trace");
    let path = dir.join("run.json");
    let output = amphi()
        .args(["run", "pool", "process-pool", "--trace"])
        .arg(&path)
        .output()
        .expect("amphi can be started");
    assert!(output.status.success(), "amphi run failed: {output:?}");
    let text = std::fs::read_to_string(&path).expect("the trace file was written");
    let document: Value = serde_json::from_str(&text).expect("the trace is JSON");
    let events = document["traceEvents"]
        .as_array()
        .expect("traceEvents is an array");
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .expect("the scratch directory can be read")
        .filter_map(Result::ok)
        .map(|entry| entry.file_name())
        .filter(|name| name != "run.json")
        .collect();
    assert!(
        leftovers.is_empty(),
        "children's part files were merged and removed: {leftovers:?}"
    );

    let slices = check_trace_events(events, SLACK_US);
    let flows = events.iter().filter(|event| event["ph"] == "s").count();
    assert!(
        flows > 0,
        "the thread pool's tasks have flows from their submission"
    );

    // One clock: the children's slices fall inside the parent's run.
    let parent = events
        .iter()
        .find(|e| {
            e["ph"] == "M" && e["name"] == "process_name" && e["args"]["name"] == "MainProcess"
        })
        .expect("the parent process is named")["pid"]
        .as_u64()
        .unwrap();
    let (parent_slices, child_slices): (Vec<&Value>, Vec<&Value>) = slices
        .iter()
        .partition(|e| e["pid"].as_u64() == Some(parent));
    let first = parent_slices
        .iter()
        .map(|e| number(e, "ts"))
        .fold(f64::INFINITY, f64::min);
    let last = parent_slices
        .iter()
        .map(|e| number(e, "ts") + number(e, "dur"))
        .fold(f64::NEG_INFINITY, f64::max);
    let child_pids: std::collections::BTreeSet<u64> = child_slices
        .iter()
        .filter_map(|e| e["pid"].as_u64())
        .collect();
    assert!(
        child_pids.len() >= 2,
        "the process pool's workers sent their slices: {child_pids:?}"
    );
    for slice in &child_slices {
        let start = number(slice, "ts");
        assert!(
            start + SLACK_US >= first && start + number(slice, "dur") <= last + SLACK_US,
            "a child's slice outside the parent's run [{first}, {last}]: {slice}"
        );
    }
    let task_threads: std::collections::BTreeSet<(u64, u64)> = slices
        .iter()
        .filter(|e| e["name"] == "pool.task")
        .map(|e| (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap()))
        .collect();
    assert!(
        task_threads.len() >= 2,
        "pool tasks ran on several threads: {task_threads:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The trace events of `amphi run EXAMPLE --trace FILE`, run in a scratch directory.
fn trace_events(test: &str, example: &str) -> Vec<Value> {
    let dir = scratch(test);
    let path = dir.join("run.json");
    let output = amphi()
        .args(["run", example, "--trace"])
        .arg(&path)
        .output()
        .expect("amphi can be started");
    assert!(output.status.success(), "amphi run failed: {output:?}");
    let text = std::fs::read_to_string(&path).expect("the trace file was written");
    let mut document: Value = serde_json::from_str(&text).expect("the trace is JSON");
    let _ = std::fs::remove_dir_all(&dir);
    match document["traceEvents"].take() {
        Value::Array(events) => events,
        other => panic!("traceEvents is not an array: {other}"),
    }
}

#[test]
fn process_pool_flows_go_from_the_parent_to_a_worker() {
    let events = trace_events("flows", "process-pool");
    let parent = events
        .iter()
        .find(|e| {
            e["ph"] == "M" && e["name"] == "process_name" && e["args"]["name"] == "MainProcess"
        })
        .expect("the parent process is named")["pid"]
        .as_u64()
        .unwrap();
    let id = |event: &Value| {
        event["id"]
            .as_u64()
            .unwrap_or_else(|| panic!("flow without id: {event}"))
    };
    let place = |event: &Value| {
        (
            event["pid"]
                .as_u64()
                .unwrap_or_else(|| panic!("no pid: {event}")),
            event["tid"]
                .as_u64()
                .unwrap_or_else(|| panic!("no tid: {event}")),
            number(event, "ts"),
        )
    };
    let mut starts = HashMap::new();
    let mut ends = HashMap::new();
    for event in &events {
        let flows = match event["ph"].as_str() {
            Some("s") => &mut starts,
            Some("f") => &mut ends,
            _ => continue,
        };
        assert!(
            flows.insert(id(event), place(event)).is_none(),
            "flow id {} twice: {event}",
            id(event)
        );
    }
    // The example submits a map of ten items (ten chunks of one, Python's default chunk size
    // for three workers) and eleven apply_async calls: a flow each.
    assert!(
        starts.len() >= 21,
        "each of the process pool's tasks has a flow: {} starts",
        starts.len()
    );
    let submits: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["name"] == "pool.submit")
        .collect();
    let tasks: Vec<&Value> = events
        .iter()
        .filter(|e| e["ph"] == "X" && e["name"] == "pool.task")
        .collect();
    // The slice of `name` at `place` that carries submission `id`.
    let slice_at = |slices: &[&Value], id: u64, (pid, tid, ts): (u64, u64, f64)| {
        slices.iter().any(|slice| {
            slice["args"]["submission"].as_u64() == Some(id)
                && slice["pid"].as_u64() == Some(pid)
                && slice["tid"].as_u64() == Some(tid)
                && (number(slice, "ts") - ts).abs() <= SLACK_US
        })
    };
    let mut workers = std::collections::BTreeSet::new();
    for (&id, &start) in &starts {
        assert_eq!(
            start.0, parent,
            "flow {id} starts in the parent, where the task was submitted"
        );
        assert!(
            slice_at(&submits, id, start),
            "flow {id} starts at a pool.submit slice with its id"
        );
        let end = *ends
            .get(&id)
            .unwrap_or_else(|| panic!("flow {id} has no end"));
        assert_ne!(
            end.0, parent,
            "flow {id} ends in a worker process, not in the parent"
        );
        assert!(
            slice_at(&tasks, id, end),
            "flow {id} ends at a worker's pool.task slice with its id"
        );
        assert!(
            end.2 + SLACK_US >= start.2,
            "flow {id} ends before it starts"
        );
        workers.insert(end.0);
    }
    assert!(
        ends.keys().all(|id| starts.contains_key(id)),
        "every flow end has its start"
    );
    let named_workers = events
        .iter()
        .filter(|e| e["ph"] == "M" && e["name"] == "process_name")
        .filter(|e| {
            e["args"]["name"]
                .as_str()
                .is_some_and(|name| name.starts_with("PoolWorker-"))
        })
        .filter_map(|e| e["pid"].as_u64())
        .collect::<std::collections::BTreeSet<_>>();
    assert!(
        workers.is_subset(&named_workers),
        "the flows end in the pool's workers {named_workers:?}: {workers:?}"
    );
}

#[test]
fn timeline_prints_one_row_per_thread() {
    let output = amphi()
        .args(["run", "queue-workers-lock", "--timeline"])
        .output()
        .expect("amphi can be started");
    assert!(output.status.success(), "amphi run failed: {output:?}");
    let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
    let rows: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.starts_with("pid thread"))
        .skip(1)
        .take_while(|line| line.contains(" |"))
        .collect();
    assert_eq!(
        rows.len(),
        3,
        "the main thread and each worker have one row:\n{stdout}"
    );
    for worker in ["Worker 1", "Worker 2"] {
        assert!(
            rows.iter()
                .any(|row| row.contains(worker) && row.contains('-')),
            "{worker} has a bar:\n{stdout}"
        );
    }
}

#[test]
fn without_the_feature_the_core_crate_has_no_tracing_dependency() {
    let workspace = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let tree = |features: &[&str]| {
        let output = std::process::Command::new(env!("CARGO"))
            .args([
                "tree",
                "--offline",
                "-e",
                "normal",
                "-p",
                "amphi",
                "--manifest-path",
                workspace,
            ])
            .args(features)
            .output()
            .expect("cargo tree can be run");
        assert!(output.status.success(), "cargo tree failed: {output:?}");
        String::from_utf8(output.stdout).expect("cargo tree prints UTF-8")
    };
    assert!(
        !tree(&[]).contains("tracing"),
        "tracing is a dependency without the feature"
    );
    assert!(
        tree(&["--features", "trace"]).contains("tracing"),
        "with the feature, tracing is a dependency (the check above can fail)"
    );
}

#[test]
fn a_killed_child_leaves_its_finished_slices_in_the_trace() {
    let dir = scratch("trace-kill");
    let path = dir.join("run.json");
    amphi::trace::start(&path).expect("this test process records");
    let finished = amphi::process::Event::new().expect("an event for the child");
    let child = amphi::process::Process::new(finish_a_thread_then_sleep, finished.clone());
    child.start().expect("the child starts");
    let child_pid = u64::from(child.pid().expect("a started child has a pid"));
    // The watchdog: the child says within PATIENCE that its slice closed.
    let said = finished.wait_timeout(PATIENCE).is_ok();
    child.kill().expect("the child can be killed");
    let joined = child.join_timeout(PATIENCE);
    let events = amphi::trace::finish();
    assert!(
        said,
        "the child did not finish its thread within {PATIENCE:?}"
    );
    assert!(
        joined.is_err(),
        "a killed child reports its end as an error"
    );
    let of_child = |name: &str| {
        events
            .iter()
            .filter(|e| e["ph"] == "X" && e["name"] == name && e["pid"].as_u64() == Some(child_pid))
            .count()
    };
    assert_eq!(
        of_child("thread"),
        1,
        "the child's finished thread slice survived the kill: {events:?}"
    );
    assert_eq!(
        of_child("process"),
        0,
        "the child's own slice was still open when it was killed"
    );
    assert!(
        events.iter().any(|e| e["ph"] == "M"
            && e["name"] == "thread_name"
            && e["pid"].as_u64() == Some(child_pid)
            && e["args"]["name"] == FINISHED_THREAD),
        "the child's thread is named: {events:?}"
    );
    let leftovers = std::fs::read_dir(&dir)
        .expect("the scratch directory can be read")
        .count();
    assert_eq!(
        leftovers, 0,
        "the killed child's part file was merged and removed"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

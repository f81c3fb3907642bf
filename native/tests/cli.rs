//! Integration tests of the `amphi` command line, run as a separate process: `amphi list`,
//! `amphi run NAME` (text and `--json`), `amphi run --all --json`, `amphi worker URL` serving
//! `distributed-squares` over a real `redis-server`, and the failures (an unknown example name,
//! `amphi run` with no names, standard output closed early or on a full disk, `amphi worker`
//! without a server), and `amphi show NAME` (against the example's files on disk), checking
//! exit codes, stdout and stderr.

// The CLI is tested as a native process; its dev-dependencies are not built for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use std::fs::OpenOptions;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

/// The exit code of `amphi` when its standard output cannot be written.
const OUTPUT_FAILED: i32 = 3;

/// How long a test lets an `amphi` process run before it kills it and fails.
const PATIENCE: Duration = Duration::from_secs(120);

/// The `amphi` binary built from this crate.
fn amphi() -> Command {
    Command::cargo_bin("amphi").expect("the amphi binary is built for the tests")
}

/// Runs `amphi` with `args` and returns (exit success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let output = amphi().args(args).output().expect("amphi can be started");
    (
        output.status.success(),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// Parses every non-empty stdout line as one JSON object.
fn json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line:?}"))
        })
        .collect()
}

/// The check called `name` in a JSON report, after asserting every check has the
/// `{name, ok, detail}` shape.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    let checks = report["checks"]
        .as_array()
        .unwrap_or_else(|| panic!("checks is not an array: {report}"));
    for c in checks {
        assert!(c["name"].is_string(), "check without a string name: {c}");
        assert!(c["ok"].is_boolean(), "check without a boolean ok: {c}");
        assert!(
            c["detail"].is_string(),
            "check without a string detail: {c}"
        );
    }
    checks
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check named {name:?} in {report}"))
}

#[test]
fn list_names_bank_account() {
    let (ok, stdout, stderr) = run(&["list"]);
    assert!(ok, "amphi list failed: {stderr}");
    assert!(
        stdout
            .lines()
            .any(|line| line.split_whitespace().next() == Some("bank-account")),
        "bank-account is not listed:\n{stdout}"
    );
}

#[test]
fn run_help_names_every_example() {
    let (ok, listed, _) = run(&["list"]);
    assert!(ok);
    let (ok, help, stderr) = run(&["run", "--help"]);
    assert!(ok, "amphi run --help failed: {stderr}");
    for name in listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
    {
        assert!(
            help.contains(name),
            "{name} is not in `amphi run --help`:\n{help}"
        );
    }
    for name in ["process-pool", "four-processes", "daemon"] {
        assert!(
            help.contains(name),
            "{name} is not in `amphi run --help`:\n{help}"
        );
    }
}

#[test]
fn run_bank_account_prints_output_and_checks() {
    let (ok, stdout, stderr) = run(&["run", "bank-account"]);
    assert!(ok, "amphi run bank-account failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("== bank-account"),
        "no header line:\n{stdout}"
    );
    let output_lines = stdout
        .lines()
        .filter(|line| line.starts_with("  ") && !line.trim_start().starts_with('['))
        .count();
    assert!(
        output_lines > 0,
        "no output lines from the example:\n{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|line| line.contains("[ok  ] balance == 100")),
        "the check balance == 100 is not printed as ok:\n{stdout}"
    );
    assert!(!stdout.contains("FAIL"), "something failed:\n{stdout}");
    assert!(
        stdout.contains("== bank-account passed"),
        "no verdict line:\n{stdout}"
    );
}

#[test]
fn run_bank_account_json_is_one_ok_report() {
    let (ok, stdout, stderr) = run(&["run", "bank-account", "--json"]);
    assert!(
        ok,
        "amphi run bank-account --json failed:\n{stdout}\n{stderr}"
    );
    let reports = json_lines(&stdout);
    assert_eq!(
        reports.len(),
        1,
        "expected exactly one JSON object:\n{stdout}"
    );
    let report = &reports[0];
    assert!(report.is_object(), "the report is not an object: {report}");
    assert_eq!(report["example"], "bank-account", "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(report["error"].is_null(), "unexpected error: {report}");
    let balance = check(report, "balance == 100");
    assert_eq!(balance["ok"], true, "{balance}");
    let output = report["output"]
        .as_array()
        .unwrap_or_else(|| panic!("output is not an array: {report}"));
    assert!(!output.is_empty(), "no output lines: {report}");
    assert!(
        output.iter().all(Value::is_string),
        "output lines are not strings: {report}"
    );
    assert!(report["elapsed_ms"].is_number(), "no elapsed_ms: {report}");
}

#[test]
fn run_unknown_example_fails_and_says_so() {
    let (ok, stdout, stderr) = run(&["run", "no-such-example"]);
    assert!(!ok, "an unknown example succeeded:\n{stdout}");
    assert!(
        stderr.contains("no example named 'no-such-example'"),
        "stderr does not say there is no such example:\n{stderr}"
    );
    assert!(
        stderr.contains("bank-account"),
        "stderr does not list the known examples:\n{stderr}"
    );
}

#[test]
fn run_unknown_example_json_reports_the_error() {
    let (ok, stdout, stderr) = run(&["run", "no-such-example", "--json"]);
    assert!(!ok, "an unknown example succeeded:\n{stdout}");
    assert!(
        stderr.contains("no example named 'no-such-example'"),
        "stderr does not say there is no such example:\n{stderr}"
    );
    let reports = json_lines(&stdout);
    assert_eq!(
        reports.len(),
        1,
        "expected exactly one JSON object:\n{stdout}"
    );
    let report = &reports[0];
    assert_eq!(report["example"], "no-such-example", "{report}");
    assert_eq!(report["ok"], false, "{report}");
    let error = report["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error string: {report}"));
    assert!(
        error.contains("no-such-example"),
        "the error does not name the example: {error}"
    );
}

#[test]
fn run_without_names_is_a_usage_error() {
    let output = amphi().arg("run").output().expect("amphi can be started");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(2),
        "not a usage error (exit 2):\n{stdout}\n{stderr}"
    );
    assert!(
        stderr.contains("Usage:"),
        "no usage text on stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("<NAMES>"),
        "the missing argument is not named:\n{stderr}"
    );
    assert!(
        stdout.is_empty(),
        "something was printed on stdout:\n{stdout}"
    );
}

#[test]
fn run_all_json_prints_one_ok_report_per_example() {
    let (ok, listed, _) = run(&["list"]);
    assert!(ok);
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert!(!names.is_empty(), "amphi list printed no examples");

    let (ok, stdout, stderr) = run(&["run", "--all", "--json"]);
    assert!(ok, "amphi run --all --json failed:\n{stdout}\n{stderr}");
    let reports = json_lines(&stdout);
    assert_eq!(
        reports.len(),
        names.len(),
        "one report per example expected:\n{stdout}"
    );
    for (report, name) in reports.iter().zip(&names) {
        assert_eq!(report["example"], *name, "{report}");
        assert_eq!(report["ok"], true, "{report}");
    }
    assert!(
        reports.iter().any(|r| r["example"] == "bank-account"),
        "bank-account was not run:\n{stdout}"
    );
}

/// `amphi` with `args`, started as a plain process with standard input closed and `stdout`.
fn spawn_amphi(args: &[&str], stdout: Stdio) -> Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_amphi"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("amphi can be started")
}

/// Reads `amphi`'s stderr to the end on a thread, so that it never blocks on a full pipe.
fn drain_stderr(amphi: &mut Child) -> JoinHandle<String> {
    let mut pipe = amphi.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).expect("stderr is UTF-8");
        text
    })
}

/// Waits for `amphi` to exit, for at most [`PATIENCE`]; kills it (and says so) if it does not.
fn wait_or_kill(amphi: &mut Child) -> Result<ExitStatus, String> {
    let started = Instant::now();
    loop {
        if let Some(status) = amphi.try_wait().expect("poll amphi") {
            return Ok(status);
        }
        if started.elapsed() > PATIENCE {
            amphi.kill().expect("kill amphi");
            amphi.wait().expect("reap amphi");
            return Err(format!("amphi was still running after {PATIENCE:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Waits for `amphi` (see [`wait_or_kill`]) and returns its exit code and stderr, after
/// checking that it ended by itself, without a panic.
fn ended_without_panic(mut amphi: Child, stderr: JoinHandle<String>) -> (Option<i32>, String) {
    let status = wait_or_kill(&mut amphi);
    let stderr = stderr.join().expect("the stderr reader ends");
    let status = status.unwrap_or_else(|hang| panic!("{hang}; stderr:\n{stderr}"));
    assert!(!stderr.contains("panicked"), "amphi panicked:\n{stderr}");
    (status.code(), stderr)
}

#[test]
fn output_to_a_closed_pipe_ends_quietly_with_a_failure_code() {
    // As `amphi run --all | head -2`: read two lines, then close the pipe.
    let mut amphi = spawn_amphi(&["run", "--all"], Stdio::piped());
    let stderr = drain_stderr(&mut amphi);
    let mut stdout = BufReader::new(amphi.stdout.take().expect("stdout is piped"));
    let mut first_lines = String::new();
    for _ in 0..2 {
        stdout
            .read_line(&mut first_lines)
            .expect("amphi prints its first lines");
    }
    drop(stdout);
    assert!(
        first_lines.starts_with("== bank-account\n") && first_lines.lines().count() == 2,
        "not the first two lines of the first example: {first_lines:?}"
    );

    let (code, stderr) = ended_without_panic(amphi, stderr);
    assert_eq!(
        code,
        Some(OUTPUT_FAILED),
        "not the output failure's exit code; stderr:\n{stderr}"
    );
    assert!(
        stderr.trim().is_empty(),
        "a closed pipe is not quiet:\n{stderr}"
    );
}

#[test]
fn output_to_a_full_disk_ends_with_a_message_and_a_failure_code() {
    for args in [
        &["list"][..],
        &["run", "bank-account"],
        &["run", "pipe", "--json"],
    ] {
        let full = OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full can be opened");
        let mut amphi = spawn_amphi(args, Stdio::from(full));
        let stderr = drain_stderr(&mut amphi);
        let (code, stderr) = ended_without_panic(amphi, stderr);
        assert_eq!(
            code,
            Some(OUTPUT_FAILED),
            "amphi {args:?} to a full disk: not the output failure's exit code; stderr:\n{stderr}"
        );
        assert!(
            stderr.contains("amphi: cannot write the output"),
            "amphi {args:?} to a full disk does not say why it failed:\n{stderr}"
        );
    }
}

/// Whether a process with this pid exists (a zombie counts), as `ps -p` sees it.
fn process_exists(pid: u32) -> bool {
    std::process::Command::new("ps")
        .args(["-p", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("ps can be started")
        .success()
}

#[test]
fn the_process_examples_leave_no_child_behind() {
    // The daemon example's daemon is a grandchild of amphi: it must end with its parent, and
    // nothing any of these examples started may outlive amphi.
    let mut amphi = spawn_amphi(
        &["run", "daemon", "four-processes", "--json"],
        Stdio::piped(),
    );
    let stderr = drain_stderr(&mut amphi);
    let mut pipe = amphi.stdout.take().expect("stdout is piped");
    let stdout = std::thread::spawn(move || {
        let mut text = String::new();
        pipe.read_to_string(&mut text).expect("stdout is UTF-8");
        text
    });
    let (code, stderr) = ended_without_panic(amphi, stderr);
    let stdout = stdout.join().expect("the stdout reader ends");
    assert_eq!(code, Some(0), "amphi failed:\n{stdout}\n{stderr}");
    let reports = json_lines(&stdout);
    assert_eq!(reports.len(), 2, "{stdout}");
    let daemon = check(&reports[0], "the daemon is gone once its parent has ended");
    assert_eq!(daemon["ok"], true, "{}", reports[0]);

    // "daemon (PID): Starting", "Process PID - doing: loop 0", ...
    let mut children = Vec::new();
    for report in &reports {
        for line in report["output"].as_array().expect("output is an array") {
            let line = line.as_str().expect("output lines are strings");
            let pid = if let Some(rest) = line.strip_prefix("daemon (") {
                rest.split(')').next()
            } else if line.contains("doing: loop") {
                line.split_whitespace().nth(1)
            } else {
                None
            };
            if let Some(pid) = pid {
                children.push(pid.parse::<u32>().expect("a pid"));
            }
        }
    }
    assert_eq!(children.len(), 5, "a daemon and four children: {stdout}");
    let started = Instant::now();
    let mut left: Vec<u32> = children.clone();
    while !left.is_empty() && started.elapsed() < Duration::from_secs(10) {
        left.retain(|&pid| process_exists(pid));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        left.is_empty(),
        "processes {left:?} of {children:?} outlived amphi"
    );
}

#[path = "../../tests/common/redis_server.rs"]
mod redis_server;

#[test]
fn worker_without_a_server_exits_with_a_clear_error() {
    let (ok, stdout, stderr) = run(&["worker", "redis+unix:///nonexistent/amphi-redis.sock"]);
    assert!(!ok, "amphi worker succeeded without a server:\n{stdout}");
    assert!(
        stderr.contains("amphi: worker:") && stderr.contains("cannot reach the Redis server"),
        "stderr does not explain:\n{stderr}"
    );
}

#[test]
fn a_worker_started_with_amphi_worker_serves_distributed_squares() {
    let server = redis_server::RedisServer::start();
    let mut worker = std::process::Command::new(env!("CARGO_BIN_EXE_amphi"))
        .args(["worker", &server.url(), "--pool", "cli-squares"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("amphi worker can be started");
    let mut example = std::process::Command::new(env!("CARGO_BIN_EXE_amphi"))
        .args(["run", "distributed-squares", "--json"])
        .env("AMPHI_REDIS", server.url())
        .env("AMPHI_REDIS_POOL", "cli-squares")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("amphi run can be started");
    let stderr = drain_stderr(&mut example);
    let status = wait_or_kill(&mut example);
    let mut stdout = String::new();
    example
        .stdout
        .take()
        .expect("stdout is piped")
        .read_to_string(&mut stdout)
        .expect("stdout is UTF-8");
    let still_serving = worker.try_wait().expect("the worker's status").is_none();
    let _ = worker.kill();
    let _ = worker.wait();
    let status = status.unwrap_or_else(|why| panic!("{why}"));
    let stderr = stderr.join().expect("stderr read");
    assert!(status.success(), "the example failed:\n{stdout}\n{stderr}");
    let report = &json_lines(&stdout)[0];
    assert_eq!(report["example"], "distributed-squares", "{report}");
    assert_eq!(report["ok"], true, "{report}");
    assert!(
        report.to_string().contains("from $AMPHI_REDIS"),
        "the example did not use the server of AMPHI_REDIS: {report}"
    );
    assert!(still_serving, "amphi worker ended while the pool ran");
}

/// Runs `amphi` with `args`, killed after [`PATIENCE`]; returns (exit code, stdout, stderr).
fn run_timed(args: &[&str]) -> (Option<i32>, String, String) {
    let output = amphi()
        .args(args)
        .timeout(PATIENCE)
        .output()
        .expect("amphi can be started");
    (
        output.status.code(),
        String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    )
}

/// A file of the examples crate, read from disk (`path` relative to the crate's root).
fn examples_file(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("cannot read {}: {e}", full.display()))
}

#[test]
fn show_prints_the_rust_source_then_the_python_original() {
    let (code, stdout, stderr) = run_timed(&["show", "bank-account"]);
    assert_eq!(code, Some(0), "amphi show bank-account failed:\n{stderr}");
    let expected = format!(
        "== bank-account: Rust source\n{}== bank-account: Python original\n{}",
        examples_file("src/bank_account.rs"),
        examples_file("python/bank-account.py"),
    );
    assert_eq!(stdout, expected);
}

#[test]
fn show_rust_or_python_prints_that_one_alone() {
    let (code, stdout, stderr) = run_timed(&["show", "process-pool", "--python"]);
    assert_eq!(
        code,
        Some(0),
        "amphi show process-pool --python failed:\n{stderr}"
    );
    assert_eq!(
        stdout,
        examples_file("python/pool.py"),
        "the thread and process variants share one original"
    );
    let (code, stdout, stderr) = run_timed(&["show", "process-pool", "--rust"]);
    assert_eq!(
        code,
        Some(0),
        "amphi show process-pool --rust failed:\n{stderr}"
    );
    assert_eq!(stdout, examples_file("src/pool_squares.rs"));
}

#[test]
fn show_says_when_there_is_no_python_original() {
    let (code, stdout, stderr) = run_timed(&["show", "timer"]);
    assert_eq!(code, Some(0), "amphi show timer failed:\n{stderr}");
    assert!(stdout.starts_with("== timer: Rust source\n"), "{stdout}");
    assert!(
        stdout.ends_with("== timer: no Python original (no seed has code for it)\n"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run_timed(&["show", "timer", "--python"]);
    assert_eq!(
        code,
        Some(1),
        "amphi show timer --python did not fail:\n{stdout}"
    );
    assert!(stdout.is_empty(), "{stdout}");
    assert!(
        stderr.contains("'timer' has no Python original"),
        "{stderr}"
    );
}

#[test]
fn show_unknown_example_fails_as_run_does() {
    let (show_code, show_stdout, show_stderr) = run_timed(&["show", "no-such-example"]);
    let (run_code, _, run_stderr) = run_timed(&["run", "no-such-example"]);
    assert_eq!(
        show_code,
        Some(1),
        "amphi show of an unknown example:\n{show_stdout}"
    );
    assert_eq!(show_code, run_code, "show and run end differently");
    assert!(show_stdout.is_empty(), "{show_stdout}");
    assert!(
        show_stderr.starts_with("amphi: no example named 'no-such-example' (known: "),
        "{show_stderr}"
    );
    assert_eq!(
        show_stderr.lines().next(),
        run_stderr.lines().next(),
        "show and run say it differently"
    );
}

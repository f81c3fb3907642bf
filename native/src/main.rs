//! `amphi`: list and run amphi's examples from the terminal.
//!
//! ```text
//! amphi list                      # the examples, one per line
//! amphi run bank-account          # run one, printing its output and checks
//! amphi run bank-account --json   # one JSON report instead (the web page's format)
//! amphi run --all                 # every example
//! amphi run pool --trace out.json # and a Chrome trace-event file of the run (Perfetto)
//! amphi run pool --timeline       # and a text timeline: one row per thread of each process
//! amphi show bank-account         # its Rust source, then the Python original it translates
//! amphi show pool --python        # only the Python original (--rust: only the Rust source)
//! amphi manager serve unix:/run/app.sock   # a standalone manager (key from AMPHI_AUTHKEY)
//! amphi worker redis://host:6379/0 --pool squares   # a worker of a pool over Redis
//! ```
//!
//! `amphi show NAME` prints the example's Rust source (the module of the examples crate that
//! holds its body) and the Python program of its seed that it translates, each under a `==`
//! header line; `--rust` or `--python` prints that one alone, as it is, without a header (so
//! `amphi show pool --python > pool.py` writes a program Python runs). An unknown name is the
//! error `amphi run` reports (exit code 1), and so is `--python` for an example without a
//! Python original.
//!
//! The exit code is 0 only when every example run finished and all its checks held; 1 when one
//! did not, 2 for a usage error, and 3 when standard output could not be written (a closed pipe,
//! as in `amphi run --all | head -2`, or a full disk): amphi then stops after the example in
//! progress, silently for a closed pipe and with one line on stderr otherwise.
//!
//! `amphi manager serve ADDRESS` serves a [`Manager`](amphi::process::Manager) at a Unix
//! socket's path or a TCP `host:port` for other processes ([`Manager::connect`]), with the key
//! of the environment variable `--authkey-env` (default `AMPHI_AUTHKEY`) or of the file
//! `--authkey-file`, never one given on the command line (other users may read a process's
//! arguments). It prints `listening on ADDRESS` and serves until a client's `shutdown()`
//! (exit code 0) or until a signal ends it (SIGINT, SIGTERM: a Unix socket's file then stays
//! behind, and must be removed before the address is served again).
//!
//! `amphi worker URL` serves a process pool over Redis (`redis://host:port/db` or
//! `redis+unix:///path`; pool `--pool`, default `amphi`) until a signal ends it: the tasks of
//! any `amphi` of the same build, such as `amphi run distributed-squares` with `AMPHI_REDIS`
//! and `AMPHI_REDIS_POOL` set on another machine. A task it was running when killed is
//! claimed by another worker. It exits with 1 and the reason on stderr if the server cannot
//! be reached (or stays lost for a minute).

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, MutexGuard};

use amphi::process::connection::AuthKey;
use amphi::process::Manager;
use amphi_examples::{self as examples, LineSink, Options, Report};
use clap::{Parser, Subcommand};

mod timeline;

#[derive(Parser, Debug)]
#[command(
    name = "amphi",
    version,
    about = "Python's multiprocessing and threading, in Rust: run the examples"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// List the examples.
    List,
    /// Run examples by name (or all of them) and check their results.
    #[command(after_help = example_names())]
    Run {
        /// Example names, as printed by `amphi list`.
        #[arg(required_unless_present = "all")]
        names: Vec<String>,
        /// Run every example.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Print one JSON report per example instead of text.
        #[arg(long)]
        json: bool,
        /// Write a Chrome trace-event JSON file of the run (Perfetto, chrome://tracing).
        #[arg(long, value_name = "FILE")]
        trace: Option<std::path::PathBuf>,
        /// Print a text timeline of the run: one row per thread of each process.
        #[arg(long)]
        timeline: bool,
    },
    /// Print an example's Rust source and the Python original it translates.
    #[command(after_help = example_names())]
    Show {
        /// The example's name, as printed by `amphi list`.
        name: String,
        /// Print only the Rust source, without a header.
        #[arg(long, conflicts_with = "python")]
        rust: bool,
        /// Print only the Python original, without a header.
        #[arg(long)]
        python: bool,
    },
    /// Serve a process pool over Redis as one of its workers, until a signal ends it.
    Worker {
        /// The server: redis://host:port/db or redis+unix:///path/to/socket.
        url: String,
        /// The pool to serve (the clients' pool name).
        #[arg(long, default_value = "amphi")]
        pool: String,
    },
    /// Managers between unrelated processes.
    Manager {
        #[command(subcommand)]
        action: ManagerAction,
    },
}

#[derive(Subcommand, Debug)]
enum ManagerAction {
    /// Serve a manager at ADDRESS until a client shuts it down or a signal ends the process.
    Serve {
        /// `unix:/path` (or a path) for a Unix socket, `host:port` or `tcp://host:port` for
        /// TCP (port 0: any free port; the printed address says which).
        address: String,
        /// The environment variable holding the authentication key.
        #[arg(long, default_value = "AMPHI_AUTHKEY", value_name = "VAR")]
        authkey_env: String,
        /// A file holding the authentication key (instead of the environment).
        #[arg(long, value_name = "PATH")]
        authkey_file: Option<std::path::PathBuf>,
    },
}

/// The examples' names, for `amphi run --help`.
fn example_names() -> String {
    let names: Vec<&str> = examples::list().iter().map(|e| e.name).collect();
    format!("Examples: {}", names.join(", "))
}

/// The exit code when standard output could not be written.
const OUTPUT_FAILED: u8 = 3;

/// Standard output, which stops at the first write that fails and remembers why. Writes come
/// from the main thread and, through the line sink, from an example's threads.
#[derive(Debug, Default)]
struct Stdout {
    failure: Mutex<Option<io::Error>>,
}

impl Stdout {
    fn failure(&self) -> MutexGuard<'_, Option<io::Error>> {
        self.failure
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Prints one line, flushed at once; does nothing once a write has failed.
    fn line(&self, text: fmt::Arguments<'_>) {
        let mut failure = self.failure();
        if failure.is_some() {
            return;
        }
        let mut out = io::stdout().lock();
        let written = out
            .write_fmt(text)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush());
        if let Err(err) = written {
            *failure = Some(err);
        }
    }

    /// Whether a write has failed.
    fn failed(&self) -> bool {
        self.failure().is_some()
    }

    /// The exit code: `ok` or `failed` while every write succeeded, else [`OUTPUT_FAILED`]
    /// after one line on stderr saying why (none for a closed pipe: the reader just left).
    fn exit_code(&self, ok: bool) -> ExitCode {
        match &*self.failure() {
            None if ok => ExitCode::SUCCESS,
            None => ExitCode::FAILURE,
            Some(err) => {
                if err.kind() != io::ErrorKind::BrokenPipe {
                    // Standard error may be gone too; the exit code still says it.
                    let _ = writeln!(io::stderr(), "amphi: cannot write the output: {err}");
                }
                ExitCode::from(OUTPUT_FAILED)
            }
        }
    }
}

fn main() -> ExitCode {
    let stdout = Arc::new(Stdout::default());
    match Cli::parse().command {
        Command::List => {
            let width = examples::list()
                .iter()
                .map(|e| e.name.len())
                .max()
                .unwrap_or(0);
            for example in examples::list() {
                stdout.line(format_args!(
                    "{:<width$}  {}",
                    example.name, example.summary
                ));
            }
            stdout.exit_code(true)
        }
        Command::Run {
            names,
            all,
            json,
            trace,
            timeline,
        } => {
            let names = if all {
                examples::list().iter().map(|e| e.name.to_owned()).collect()
            } else {
                names
            };
            let recording = (trace.is_some() || timeline).then(|| {
                trace.clone().unwrap_or_else(|| {
                    std::env::temp_dir().join(format!("amphi-timeline-{}.json", std::process::id()))
                })
            });
            if let Some(path) = &recording {
                if let Err(error) = amphi::trace::start(path) {
                    let _ = writeln!(io::stderr(), "amphi: --trace: {error}");
                    return ExitCode::from(2);
                }
            }
            let mut all_ok = true;
            for name in &names {
                match run_one(name, json, &stdout) {
                    Some(ok) => all_ok &= ok,
                    // Nobody reads what the rest would print.
                    None => break,
                }
            }
            if recording.is_some() {
                let events = amphi::trace::finish();
                if timeline {
                    for line in timeline::render(&events) {
                        stdout.line(format_args!("{line}"));
                    }
                    stdout.line(format_args!("{}", timeline::LEGEND));
                }
                if let Some(path) = &trace {
                    let document = serde_json::json!({
                        "traceEvents": events,
                        "displayTimeUnit": "ms",
                    });
                    if let Err(error) = std::fs::write(path, document.to_string()) {
                        let _ = writeln!(
                            io::stderr(),
                            "amphi: cannot write the trace to {}: {error}",
                            path.display()
                        );
                        return ExitCode::FAILURE;
                    }
                }
            }
            stdout.exit_code(all_ok)
        }
        Command::Show { name, rust, python } => match examples::find(&name) {
            Some(example) => show(example, rust, python, &stdout),
            None => {
                report_unknown(&name);
                ExitCode::FAILURE
            }
        },
        Command::Worker { url, pool } => match examples::serve_redis_worker(&url, &pool) {
            Ok(()) => stdout.exit_code(true),
            Err(error) => {
                let _ = writeln!(io::stderr(), "amphi: worker: {error}");
                ExitCode::FAILURE
            }
        },
        Command::Manager {
            action:
                ManagerAction::Serve {
                    address,
                    authkey_env,
                    authkey_file,
                },
        } => match serve_manager(&address, &authkey_env, authkey_file.as_deref(), &stdout) {
            Ok(()) => stdout.exit_code(true),
            Err(error) => {
                let _ = writeln!(io::stderr(), "amphi: manager serve: {error}");
                ExitCode::FAILURE
            }
        },
    }
}

/// Serves a manager at `address` until a client shuts it down.
fn serve_manager(
    address: &str,
    authkey_env: &str,
    authkey_file: Option<&std::path::Path>,
    stdout: &Stdout,
) -> amphi::Result<()> {
    let key = match authkey_file {
        Some(path) => AuthKey::from_file(path)?,
        None => AuthKey::from_env(authkey_env)?,
    };
    let manager = Manager::listen(&address.parse()?, &key)?;
    stdout.line(format_args!("listening on {}", manager.address()));
    manager.wait_for_shutdown()?;
    stdout.line(format_args!("shut down by a client"));
    Ok(())
}

/// Prints the sources of `example`: both under headers, or only the Rust source (`rust`) or
/// only the Python original (`python`), as they are.
fn show(example: &examples::Example, rust: bool, python: bool, stdout: &Stdout) -> ExitCode {
    let name = example.name;
    let print = |text: &str| stdout.line(format_args!("{}", text.trim_end_matches('\n')));
    if rust {
        print(example.source);
    } else if python {
        let Some(original) = example.python else {
            let _ = writeln!(
                io::stderr(),
                "amphi: the example '{name}' has no Python original (no seed has code for it)"
            );
            return ExitCode::FAILURE;
        };
        print(original);
    } else {
        stdout.line(format_args!("== {name}: Rust source"));
        print(example.source);
        match example.python {
            Some(original) => {
                stdout.line(format_args!("== {name}: Python original"));
                print(original);
            }
            None => stdout.line(format_args!(
                "== {name}: no Python original (no seed has code for it)"
            )),
        }
    }
    stdout.exit_code(true)
}

/// Says on stderr that there is no example `name`, and which there are.
fn report_unknown(name: &str) {
    let known: Vec<&str> = examples::list().iter().map(|e| e.name).collect();
    let _ = writeln!(
        io::stderr(),
        "amphi: no example named '{name}' (known: {})",
        known.join(", ")
    );
}

/// Runs the example `name` and prints its output and result; whether it passed, or `None` if
/// standard output failed before or while it ran (then no other example should run).
fn run_one(name: &str, json: bool, stdout: &Arc<Stdout>) -> Option<bool> {
    if examples::find(name).is_none() {
        report_unknown(name);
    }
    let sink = Arc::clone(stdout);
    let options = Options {
        on_line: (!json)
            .then(|| Arc::new(move |line: &str| sink.line(format_args!("  {line}"))) as LineSink),
    };
    if !json {
        stdout.line(format_args!("== {name}"));
        if stdout.failed() {
            return None;
        }
    }
    let report = {
        let _span = amphi::trace::run_span(name);
        examples::run(name, &options)
    };
    if json {
        let text = serde_json::to_string(&report).expect("a report always serialises");
        stdout.line(format_args!("{text}"));
    } else {
        print_summary(&report, stdout);
    }
    (!stdout.failed()).then_some(report.ok)
}

fn print_summary(report: &Report, stdout: &Stdout) {
    for check in &report.checks {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        stdout.line(format_args!("  [{mark}] {} ({})", check.name, check.detail));
    }
    if let Some(error) = &report.error {
        stdout.line(format_args!("  [FAIL] error: {error}"));
    }
    let verdict = if report.ok { "passed" } else { "FAILED" };
    stdout.line(format_args!(
        "== {} {verdict} in {:.0} ms",
        report.example, report.elapsed_ms
    ));
}

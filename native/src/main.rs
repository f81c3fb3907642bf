//! `amphi`: list and run amphi's examples from the terminal.
//!
//! ```text
//! amphi list                      # the examples, one per line
//! amphi run bank-account          # run one, printing its output and checks
//! amphi run bank-account --json   # one JSON report instead (the web page's format)
//! amphi run --all                 # every example
//! ```
//!
//! The exit code is 0 only when every example run finished and all its checks held.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use amphi_examples::{self as examples, LineSink, Options, Report};
use clap::{Parser, Subcommand};

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
    },
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::List => {
            let width = examples::list()
                .iter()
                .map(|e| e.name.len())
                .max()
                .unwrap_or(0);
            for example in examples::list() {
                println!("{:<width$}  {}", example.name, example.summary);
            }
            ExitCode::SUCCESS
        }
        Command::Run { names, all, json } => {
            let names = if all {
                examples::list().iter().map(|e| e.name.to_owned()).collect()
            } else {
                names
            };
            let reports: Vec<Report> = names.iter().map(|name| run_one(name, json)).collect();
            if reports.iter().all(|report| report.ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn run_one(name: &str, json: bool) -> Report {
    if examples::find(name).is_none() {
        let known: Vec<&str> = examples::list().iter().map(|e| e.name).collect();
        eprintln!(
            "amphi: no example named '{name}' (known: {})",
            known.join(", ")
        );
    }
    let options = Options {
        on_line: (!json).then(|| {
            Arc::new(|line: &str| {
                println!("  {line}");
            }) as LineSink
        }),
    };
    if !json {
        println!("== {name}");
    }
    let report = examples::run(name, &options);
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("a report always serialises")
        );
    } else {
        print_summary(&report);
    }
    let _ = std::io::stdout().flush();
    report
}

fn print_summary(report: &Report) {
    for check in &report.checks {
        let mark = if check.ok { "ok  " } else { "FAIL" };
        println!("  [{mark}] {} ({})", check.name, check.detail);
    }
    if let Some(error) = &report.error {
        println!("  [FAIL] error: {error}");
    }
    let verdict = if report.ok { "passed" } else { "FAILED" };
    println!(
        "== {} {verdict} in {:.0} ms",
        report.example, report.elapsed_ms
    );
}

//! Seed 000, "random attacks": two workers each draw three random attacks, every draw under one
//! shared lock, on threads (`attacks-threads`) and on processes (`attacks-processes`).
//!
//! ```python
//! lock = manager.Lock()
//! def lazy_return_random_attacks():
//!     attacks = {"kimura": "upper_body", "straight_ankle_lock": "lower_body",
//!                "arm_triangle": "upper_body", "keylock": "upper_body", "knee_bar": "lower_body"}
//!     while True:
//!         with lock:
//!             random_attack = random.choice(list(attacks.keys()))
//!         yield random_attack
//! def print_attacks(num):
//!     attacks = lazy_return_random_attacks()
//!     for i in range(num):
//!         print(f"Process {os.getpid()}: {next(attacks)}")
//! pool = multiprocessing.Pool(processes=2)
//! pool.map(print_attacks, [3]*2)
//! ```
//!
//! Written once over the family of workers (`family`): the same task runs on a
//! [`ThreadPool`](amphi::ThreadPool) and on a process [`Pool`](amphi::process::Pool). The
//! shared lock is a [`process::Lock`] (Python's `multiprocessing.Lock`, which threads share as
//! well as processes), passed to each task with two shared counters: how many workers are
//! drawing now, and the most ever seen drawing at once. Checks: six draws, each a known attack
//! (the generator is lazy: one draw per `next`), and never more than one worker inside the lock
//! at once (without the lock the counter could reach two).

use std::time::Duration;

use crate::family::{Family, TaskPool};
use crate::Run;
use amphi::process::{self, Value};
use amphi::{thread, Error};

const ATTACKS: [(&str, &str); 5] = [
    ("kimura", "upper_body"),
    ("straight_ankle_lock", "lower_body"),
    ("arm_triangle", "upper_body"),
    ("keylock", "upper_body"),
    ("knee_bar", "lower_body"),
];
const WORKERS: usize = 2;
const DRAWS_EACH: u32 = 3;
/// A little time spent holding the lock, so two unguarded draws would overlap.
const HOLD: Duration = Duration::from_millis(5);

/// What every task is given: the lock, the number of workers drawing now, the most seen at
/// once, and how many attacks to draw.
type Shared = (process::Lock, Value<u32>, Value<u32>, u32);

/// The lazy generator: each `next` takes the lock and draws one attack.
struct RandomAttacks<'a> {
    shared: &'a Shared,
    state: u64,
}

impl Iterator for RandomAttacks<'_> {
    type Item = Result<&'static str, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        let (lock, inside, most, _) = self.shared;
        let mut draw = || -> Result<&'static str, Error> {
            let _held = lock.acquire()?;
            // Atomic counts, so an overlap would show as two inside.
            let now = inside.fetch_add(1) + 1;
            let mut seen = most.get();
            while seen < now {
                match most.compare_exchange(seen, now) {
                    Ok(_) => break,
                    Err(current) => seen = current,
                }
            }
            // xorshift64: `random.choice` without a dependency.
            self.state ^= self.state << 13;
            self.state ^= self.state >> 7;
            self.state ^= self.state << 17;
            let (attack, _) = ATTACKS[(self.state % ATTACKS.len() as u64) as usize];
            thread::sleep(HOLD)?;
            inside.fetch_sub(1);
            Ok(attack)
        };
        Some(draw())
    }
}

/// The task: `num` draws, each line saying which worker drew what.
fn print_attacks(shared: Shared) -> Result<Vec<String>, String> {
    let pid = process::current_process().pid;
    let ident = thread::get_ident();
    // A seed that differs between workers and between runs: who draws, and where its stack is.
    let marker = 0u8;
    let seed = (u64::from(pid) << 32)
        ^ ident.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (std::ptr::addr_of!(marker) as u64).rotate_left(17);
    let attacks = RandomAttacks {
        shared: &shared,
        state: seed | 1,
    };
    attacks
        .take(shared.3 as usize)
        .map(|attack| {
            attack
                .map(|attack| format!("Process {pid} thread {ident}: {attack}"))
                .map_err(|error| error.to_string())
        })
        .collect()
}

pub(super) fn run<F: Family>(run: &mut Run) -> Result<(), Error> {
    run.line(format!(
        "A {} of {WORKERS} {}: map(print_attacks, [{DRAWS_EACH}]*{WORKERS}), each draw under one Lock",
        F::POOL,
        F::WORKERS
    ));
    let shared: Shared = (
        process::Lock::new()?,
        Value::new_without_lock(0)?,
        Value::new_without_lock(0)?,
        DRAWS_EACH,
    );
    let pool = F::Pool::start(WORKERS)?;
    let outcomes = pool.map(vec![shared.clone(); WORKERS], print_attacks)?;
    pool.finish()?;
    let mut lines = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(drawn) => lines.extend(drawn),
            Err(reason) => run.line(format!("a worker's draw failed: {reason}")),
        }
    }
    for line in &lines {
        run.line(line.clone());
    }
    let known = lines.iter().all(|line| {
        ATTACKS
            .iter()
            .any(|(attack, _)| line.ends_with(&format!(": {attack}")))
    });
    let expected = WORKERS * DRAWS_EACH as usize;
    run.check(
        format!("{expected} draws, each a known attack"),
        lines.len() == expected && known,
        format!("{} draws", lines.len()),
    );
    let most = shared.2.get();
    run.line(format!("Most workers drawing at once: {most}"));
    run.check(
        "every draw under the lock: never more than one worker drawing at once",
        most == 1,
        format!("at most {most} drawing at once"),
    );
    Ok(())
}

//! The kill-point suite: for each place where a process can die while it uses a shared object,
//! many trials in which a child is killed at a random instant (natively SIGKILL, in the browser
//! `Worker.terminate()`), then the survivor uses the object. The promise under test: the
//! survivor gets a result or a typed error within 5 s (never a hang, never a silent timeout),
//! and the object is usable afterwards or keeps reporting itself broken.
//!
//! Each trial starts a child in a tight loop on the object (the parent's threads working the
//! other side of it), waits until the loop runs, sleeps a random 0-3 ms, kills the child, and
//! then checks the object from the parent:
//! - every check's blocking call has a 5 s timeout: a `Timeout` there counts as a hang;
//! - every check runs on a watched thread: not returning within [`WATCHDOG`] counts as a hang.
//!
//! Each point prints one row of the table (point, trials, results, typed errors, hangs, the
//! longest time from the kill to the survivor's answer); `scripts/kill-points.sh` runs them all
//! and prints the table kept in `docs/KILL_POINTS.md`. Trials per point: 100 natively
//! (`AMPHI_KILL_TRIALS` overrides it, `AMPHI_KILL_SEED` replays a run), fewer in the browser,
//! where every child is a costly worker start.

// The conformance macros go unused here (the points have their own, `kill_points!`).
#[allow(unused_macros)]
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use amphi::process::{
    Barrier, Condition, Connection, Event, Lock, Pipe, Process, Queue, RLock, Semaphore, Value,
};
use amphi::time::Instant;
use amphi::{Error, GetError, PutError, RecvError, Thread};
use common::KillRng;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// How long the survivor's blocking calls may take before they count as a hang.
const SURVIVOR: Duration = Duration::from_secs(5);
/// How long a watched call may take before it counts as a hang (its thread is then left
/// behind, still blocked, and the trial goes on).
const WATCHDOG: Duration = Duration::from_secs(10);
/// The longest random delay between the child's loop running and its death, in microseconds.
const MAX_DELAY_US: u64 = 3_000;

/// Trials per point (see the module docs).
fn trials() -> u32 {
    common::kill_trials(100, 10)
}

/// How one trial ended for the survivor.
enum Verdict {
    /// A result: the object worked as if nothing had happened.
    Result,
    /// A typed error that tells what happened (`OwnerDied`, `PeerDied`, `BrokenBarrier`, ...).
    Error(String),
}

/// A hang: a survivor's call that timed out, or a watched call that never returned.
struct Hang(String);

impl From<Error> for Hang {
    fn from(error: Error) -> Hang {
        Hang(format!("unexpected error {error:?}"))
    }
}

/// What one point's trials saw.
struct Tally {
    point: &'static str,
    seed: u64,
    trials: u32,
    results: u32,
    errors: BTreeMap<String, u32>,
    hangs: Vec<String>,
    slowest: Duration,
}

impl Tally {
    fn row(&self) -> String {
        let mut errors = String::new();
        for (kind, count) in &self.errors {
            let _ = write!(
                errors,
                "{}{kind} {count}",
                if errors.is_empty() { "" } else { ", " }
            );
        }
        if errors.is_empty() {
            errors.push('0');
        }
        format!(
            "| {} | {} | {} | {} | {} | {} ms |",
            self.point,
            self.trials,
            self.results,
            errors,
            self.hangs.len(),
            self.slowest.as_millis()
        )
    }
}

/// Runs `trial` [`trials()`] times, prints the point's row, and fails on any hang.
fn run_point(point: &'static str, trial: fn(&mut KillRng) -> Result<(Verdict, Duration), Hang>) {
    let mut rng = KillRng::new(point);
    let seed = rng.seed();
    let mut tally = Tally {
        point,
        seed,
        trials: 0,
        results: 0,
        errors: BTreeMap::new(),
        hangs: Vec::new(),
        slowest: Duration::ZERO,
    };
    for number in 0..trials() {
        tally.trials += 1;
        match trial(&mut rng) {
            Ok((verdict, took)) => {
                tally.slowest = tally.slowest.max(took);
                match verdict {
                    Verdict::Result => tally.results += 1,
                    Verdict::Error(kind) => *tally.errors.entry(kind).or_default() += 1,
                }
            }
            Err(Hang(what)) => tally.hangs.push(format!("trial {number}: {what}")),
        }
    }
    // The row for the table: natively printed (shown with --nocapture), in the browser kept
    // for the test's own worker to log (see `kill_points!`).
    #[cfg(not(target_arch = "wasm32"))]
    println!("{}", tally.row());
    #[cfg(target_arch = "wasm32")]
    ROWS.lock().unwrap().push(tally.row());
    assert!(
        tally.hangs.is_empty(),
        "{point}: {} hang(s) in {} trials (seed {}):\n{}",
        tally.hangs.len(),
        tally.trials,
        tally.seed,
        tally.hangs.join("\n")
    );
}

/// The rows of the points run so far, for the browser's test worker to log: the points run on
/// an amphi thread, whose console the test runner does not show.
#[cfg(target_arch = "wasm32")]
static ROWS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Defines each point as a test on both targets, as `conformance!` does; in the browser the
/// test's own worker then logs the point's row (shown with `--nocapture`).
macro_rules! kill_points {
    ($(fn $name:ident() $body:block)*) => {$(
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() $body

        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() {
            crate::common::on_amphi_thread(|| $body).await;
            for row in ROWS.lock().unwrap().drain(..) {
                wasm_bindgen_test::console_log!("{row}");
            }
        }
    )*};
}

/// Runs `call` on its own thread and waits at most [`WATCHDOG`] for it.
fn watched<R: Send + 'static>(
    what: &str,
    call: impl FnOnce() -> Result<R, Hang> + Send + 'static,
) -> Result<R, Hang> {
    let thread = Thread::spawn(call).expect("spawn a watched thread");
    match thread.join_timeout(WATCHDOG) {
        Ok(outcome) => outcome,
        Err(Error::Timeout) => Err(Hang(format!("{what}: no answer within {WATCHDOG:?}"))),
        Err(other) => Err(Hang(format!("{what}: the watched thread failed: {other}"))),
    }
}

/// The name of an error's variant, for the table.
fn kind(error: &Error) -> String {
    let text = format!("{error:?}");
    text.split([' ', '(', '{'])
        .next()
        .unwrap_or("?")
        .to_string()
}

/// A survivor's answer: a timeout is a hang, any other error is a typed error.
fn judged<T>(what: &str, outcome: Result<T, Error>) -> Result<Result<T, String>, Hang> {
    match outcome {
        Ok(value) => Ok(Ok(value)),
        Err(Error::Timeout) => Err(Hang(format!("{what}: timed out after {SURVIVOR:?}"))),
        Err(error) => Ok(Err(kind(&error))),
    }
}

/// Work the parent's threads do on the object while the child runs, until told to stop.
struct Helpers {
    stop: Arc<AtomicBool>,
    threads: Vec<Thread<Result<(), Hang>>>,
}

impl Helpers {
    fn new() -> Helpers {
        Helpers {
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
        }
    }

    /// Starts a thread that calls `step` until stopped (or until `step` says it is done), at
    /// least once.
    fn spawn(&mut self, mut step: impl FnMut() -> Result<bool, Hang> + Send + 'static) {
        let stop = self.stop.clone();
        let thread = Thread::spawn(move || {
            // At least once, however late the thread starts.
            while step()? && !stop.load(Ordering::Relaxed) {}
            Ok(())
        })
        .expect("spawn a helper thread");
        self.threads.push(thread);
    }

    /// Stops every helper and waits for each (at most [`WATCHDOG`]).
    fn stop(self) -> Result<(), Hang> {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            match thread.join_timeout(WATCHDOG) {
                Ok(outcome) => outcome?,
                Err(error) => {
                    return Err(Hang(format!("a helper thread did not stop: {error}")));
                }
            }
        }
        Ok(())
    }
}

/// Starts `target(args)`, waits until its loop has run once (`progress` above 0), sleeps a
/// random delay and kills it; returns when it is gone, with the instant it was killed.
fn kill_at_random<A>(rng: &mut KillRng, target: fn(A), args: A, progress: &Value<u32>) -> Instant
where
    A: serde::Serialize + serde::de::DeserializeOwned + 'static,
{
    let child = Process::new(target, args);
    child.start().expect("start the child");
    common::wait_for("the child's loop", || progress.get() > 0);
    let delay = Duration::from_micros(rng.below(MAX_DELAY_US + 1));
    amphi::thread::sleep(delay).expect("test threads may block");
    child.kill().expect("kill the child");
    let killed = Instant::now();
    let joined = child.join_timeout(common::PATIENCE);
    assert!(joined.is_err(), "a killed child reports no result");
    killed
}

/// A progress counter the child bumps on every turn of its loop.
fn progress() -> Value<u32> {
    Value::new_without_lock(0).expect("a progress counter")
}

/// A few nanoseconds of work inside a critical section, so deaths land there too.
fn busy() {
    for turn in 0..32u32 {
        std::hint::black_box(turn);
    }
}

// ---------------------------------------------------------------- Lock

fn lock_loop((lock, progress): (Lock, Value<u32>)) {
    loop {
        match lock.acquire() {
            Ok(held) => {
                progress.fetch_add(1);
                busy();
                drop(held);
            }
            Err(Error::OwnerDied { .. }) => lock.release().expect("release a dead holder's lock"),
            Err(other) => panic!("acquire: {other}"),
        }
    }
}

/// One acquire by a survivor: a result, or `OwnerDied` (after which it releases the lock, as
/// the module docs tell a user to).
fn lock_survives(lock: &Lock) -> Result<Result<(), String>, Hang> {
    let outcome = judged("acquire", lock.acquire_timeout(SURVIVOR).map(drop))?;
    if outcome.is_err() {
        lock.release()
            .map_err(|error| Hang(format!("release: {error}")))?;
    }
    Ok(outcome)
}

fn lock_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let lock = Lock::new()?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let contender = lock.clone();
    helpers.spawn(move || {
        // A result, or a dead holder's lock released: either way it goes on.
        let _either = lock_survives(&contender)?;
        Ok(true)
    });
    let killed = kill_at_random(rng, lock_loop, (lock.clone(), progress.clone()), &progress);
    helpers.stop()?;
    watched("the survivor's acquire", move || {
        let first = lock_survives(&lock)?;
        let took = killed.elapsed();
        let again = lock_survives(&lock)?;
        if let Err(kind) = again {
            return Err(Hang(format!("still {kind} after the lock was released")));
        }
        Ok((verdict(first), took))
    })
}

fn verdict(outcome: Result<(), String>) -> Verdict {
    match outcome {
        Ok(()) => Verdict::Result,
        Err(kind) => Verdict::Error(kind),
    }
}

// ---------------------------------------------------------------- RLock

fn rlock_loop((lock, progress): (RLock, Value<u32>)) {
    loop {
        let outer = lock.acquire().expect("acquire");
        let inner = lock.acquire().expect("acquire again");
        progress.fetch_add(1);
        busy();
        drop(inner);
        drop(outer);
    }
}

fn rlock_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let lock = RLock::new()?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let contender = lock.clone();
    // After a holder died the lock can only report it: the contender stops there.
    helpers.spawn(move || {
        let outcome = judged("acquire", contender.acquire_timeout(SURVIVOR).map(drop))?;
        Ok(outcome.is_ok())
    });
    let killed = kill_at_random(rng, rlock_loop, (lock.clone(), progress.clone()), &progress);
    helpers.stop()?;
    watched("the survivor's acquire", move || {
        let first = judged("acquire", lock.acquire_timeout(SURVIVOR).map(drop))?;
        let took = killed.elapsed();
        let again = judged("acquire again", lock.acquire_timeout(SURVIVOR).map(drop))?;
        if again != first {
            return Err(Hang(format!("{first:?}, then {again:?}")));
        }
        Ok((verdict(first), took))
    })
}

// ---------------------------------------------------------------- Semaphore

fn semaphore_loop((semaphore, progress): (Semaphore, Value<u32>)) {
    loop {
        let permit = semaphore.acquire().expect("acquire");
        progress.fetch_add(1);
        busy();
        drop(permit);
    }
}

fn semaphore_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    // Two permits: the child holds at most one, so one is always there for the survivor even
    // if the child died holding the other (which a semaphore cannot give back; see its docs).
    let semaphore = Semaphore::new(2)?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let contender = semaphore.clone();
    helpers.spawn(move || {
        judged("acquire", contender.acquire_timeout(SURVIVOR).map(drop))?
            .map_err(|kind| Hang(format!("acquire: {kind}")))?;
        Ok(true)
    });
    let args = (semaphore.clone(), progress.clone());
    let killed = kill_at_random(rng, semaphore_loop, args, &progress);
    helpers.stop()?;
    watched("the survivor's acquire", move || {
        let first = judged("acquire", semaphore.acquire_timeout(SURVIVOR).map(drop))?;
        let took = killed.elapsed();
        judged(
            "acquire again",
            semaphore.acquire_timeout(SURVIVOR).map(drop),
        )?
        .map_err(|kind| Hang(format!("acquire again: {kind}")))?;
        Ok((verdict(first), took))
    })
}

// ---------------------------------------------------------------- Condition

/// The child waits on the condition in a loop, `wait` for `millis` each time.
fn condition_loop((cond, progress, millis): (Condition, Value<u32>, u64)) {
    loop {
        let held = cond.acquire().expect("acquire");
        progress.fetch_add(1);
        match cond.wait_timeout(Duration::from_millis(millis)) {
            Ok(()) | Err(Error::Timeout) => {}
            Err(other) => panic!("wait: {other}"),
        }
        drop(held);
    }
}

/// Notifies the condition (`notify_all`) until stopped.
fn notifier(cond: Condition) -> impl FnMut() -> Result<bool, Hang> + Send + 'static {
    move || match judged("acquire", cond.lock().acquire_timeout(SURVIVOR))? {
        Ok(held) => {
            cond.notify_all()?;
            drop(held);
            amphi::thread::sleep(Duration::from_micros(200))?;
            Ok(true)
        }
        // The child died holding the condition's lock: only reports are left.
        Err(_) => Ok(false),
    }
}

/// After the child died: does a live waiter still get a notification (or does the condition
/// report its lock's dead holder)?
fn condition_survives(cond: Condition, killed: Instant) -> Result<(Verdict, Duration), Hang> {
    watched("the survivor's notify", move || {
        let held = match judged("acquire", cond.lock().acquire_timeout(SURVIVOR))? {
            Ok(held) => held,
            Err(kind) => {
                let took = killed.elapsed();
                let again = judged(
                    "acquire again",
                    cond.lock().acquire_timeout(SURVIVOR).map(drop),
                )?;
                if again.is_ok() {
                    return Err(Hang(format!("{kind}, then the lock was free")));
                }
                return Ok((Verdict::Error(kind), took));
            }
        };
        let took = killed.elapsed();
        drop(held);
        let entered = Value::new_without_lock(0u32)?;
        let (waiter_cond, waiter_entered) = (cond.clone(), entered.clone());
        let waiter = Thread::spawn(move || {
            let held = waiter_cond.acquire()?;
            waiter_entered.set(1);
            let woken = waiter_cond.wait_timeout(SURVIVOR);
            drop(held);
            woken
        })?;
        common::wait_for("the waiter", || entered.get() == 1);
        // The waiter set `entered` under the lock: once we hold it, it waits.
        let held = cond.lock().acquire_timeout(SURVIVOR)?;
        let woken = cond.notify(1)?;
        drop(held);
        if woken != 1 {
            return Err(Hang(format!("notify(1) woke {woken} waiters")));
        }
        match waiter.join_timeout(WATCHDOG) {
            Ok(Ok(())) => Ok((Verdict::Result, took)),
            Ok(Err(error)) => Err(Hang(format!("the notified waiter: {error:?}"))),
            Err(error) => Err(Hang(format!("the notified waiter never returned: {error}"))),
        }
    })
}

fn condition_waiting_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let cond = Condition::new()?;
    let progress = progress();
    let mut helpers = Helpers::new();
    helpers.spawn(notifier(cond.clone()));
    let args = (cond.clone(), progress.clone(), 1);
    let killed = kill_at_random(rng, condition_loop, args, &progress);
    helpers.stop()?;
    condition_survives(cond, killed)
}

fn condition_notified_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let cond = Condition::new()?;
    let progress = progress();
    let mut helpers = Helpers::new();
    // The child waits long; the notifier wakes it constantly, so it dies being woken.
    helpers.spawn(notifier(cond.clone()));
    let args = (cond.clone(), progress.clone(), 1_000);
    let killed = kill_at_random(rng, condition_loop, args, &progress);
    helpers.stop()?;
    condition_survives(cond, killed)
}

// ---------------------------------------------------------------- Barrier

fn barrier_loop((barrier, progress): (Barrier, Value<u32>)) {
    loop {
        progress.fetch_add(1);
        match barrier.wait_timeout(Duration::from_secs(1)) {
            Ok(_) | Err(Error::BrokenBarrier) | Err(Error::Timeout) => {}
            Err(other) => panic!("wait: {other}"),
        }
    }
}

/// How the partner's last wait ended, and when.
type PartnerWait = (Result<(), String>, Instant);

fn barrier_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let barrier = Barrier::new(2)?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let partner = barrier.clone();
    let last: Arc<Mutex<Option<PartnerWait>>> = Arc::default();
    let seen = last.clone();
    helpers.spawn(move || {
        let outcome = match partner.wait_timeout(Duration::from_secs(1)) {
            Ok(_) => Ok(()),
            Err(error) => Err(kind(&error)),
        };
        *seen.lock().unwrap() = Some((outcome, Instant::now()));
        Ok(true)
    });
    let killed = kill_at_random(
        rng,
        barrier_loop,
        (barrier.clone(), progress.clone()),
        &progress,
    );
    helpers.stop()?;
    // The partner's last wait ended (a round, a broken barrier or its own timeout); now the
    // barrier must come back.
    let (outcome, ended) = last.lock().unwrap().take().expect("the partner waited");
    let took = ended.saturating_duration_since(killed);
    watched("reset, then a round of two", move || {
        barrier.reset()?;
        let other = barrier.clone();
        let second = Thread::spawn(move || other.wait_timeout(SURVIVOR))?;
        judged("wait", barrier.wait_timeout(SURVIVOR))?
            .map_err(|kind| Hang(format!("wait after reset: {kind}")))?;
        match second.join_timeout(WATCHDOG) {
            Ok(Ok(_)) => Ok((verdict(outcome), took)),
            other => Err(Hang(format!("the second party after reset: {other:?}"))),
        }
    })
}

// ---------------------------------------------------------------- Queue

/// What the survivor checks on a queue: a fresh item put now comes out after whatever the
/// queue still held (each get a result within 5 s), or the queue reports itself broken.
fn queue_survives(queue: Queue<Vec<u8>>, killed: Instant) -> Result<(Verdict, Duration), Hang> {
    watched("the survivor's put and gets", move || {
        match queue.put_timeout(b"after".to_vec(), SURVIVOR) {
            Ok(()) => {}
            Err(PutError::Timeout(_)) => return Err(Hang("put: timed out".into())),
            Err(error) => {
                let kind = kind(&Error::from(error));
                return still_broken(&queue, kind, killed.elapsed());
            }
        }
        let mut took = None;
        // The ring holds at most 64 KiB of items, so the fresh one is among the first few
        // thousand.
        for _ in 0..100_000 {
            let got = queue.get_timeout(SURVIVOR);
            let took = *took.get_or_insert_with(|| killed.elapsed());
            match got {
                Ok(item) if item == b"after" => return Ok((Verdict::Result, took)),
                Ok(_) => continue,
                Err(GetError::Timeout | GetError::Empty) => {
                    return Err(Hang("the item put never came out".into()));
                }
                Err(error) => return still_broken(&queue, kind(&Error::from(error)), took),
            }
        }
        Err(Hang("items kept coming".into()))
    })
}

/// A queue that reported an error must keep reporting one, at once.
fn still_broken(
    queue: &Queue<Vec<u8>>,
    kind: String,
    took: Duration,
) -> Result<(Verdict, Duration), Hang> {
    match queue.get_timeout(SURVIVOR) {
        Err(GetError::Timeout | GetError::Empty) => {
            Err(Hang(format!("{kind}, then a get timed out")))
        }
        Ok(_) => Err(Hang(format!("{kind}, then the queue worked again"))),
        Err(_) => Ok((Verdict::Error(kind), took)),
    }
}

/// The child puts items of `len` bytes in a loop.
fn queue_put_loop((queue, progress, len): (Queue<Vec<u8>>, Value<u32>, usize)) {
    let item = vec![7u8; len];
    loop {
        progress.fetch_add(1);
        queue.put(item.clone()).expect("put");
    }
}

/// The child gets items in a loop.
fn queue_get_loop((queue, progress): (Queue<Vec<u8>>, Value<u32>)) {
    loop {
        progress.fetch_add(1);
        queue.get().expect("get");
    }
}

fn queue_put_trial(rng: &mut KillRng, len: usize) -> Result<(Verdict, Duration), Hang> {
    let queue = Queue::unbounded()?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let consumer = queue.clone();
    helpers.spawn(
        move || match consumer.get_timeout(Duration::from_millis(50)) {
            Ok(_) | Err(GetError::Timeout | GetError::Empty) => Ok(true),
            // The child died mid-item: the queue reports it; the survivor checks that.
            Err(_) => Ok(false),
        },
    );
    let args = (queue.clone(), progress.clone(), len);
    let killed = kill_at_random(rng, queue_put_loop, args, &progress);
    helpers.stop()?;
    queue_survives(queue, killed)
}

fn queue_get_trial(rng: &mut KillRng, len: usize) -> Result<(Verdict, Duration), Hang> {
    let queue = Queue::unbounded()?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let producer = queue.clone();
    let item = vec![9u8; len];
    helpers.spawn(move || {
        // Keep a backlog of a few items, so the child always has one to take.
        if producer.qsize() > 4 {
            amphi::thread::sleep(Duration::from_micros(100))?;
            return Ok(true);
        }
        match producer.put_timeout(item.clone(), SURVIVOR) {
            Ok(()) => Ok(true),
            Err(PutError::Timeout(_)) => Err(Hang("the producer's put timed out".into())),
            Err(_) => Ok(false),
        }
    });
    let killed = kill_at_random(
        rng,
        queue_get_loop,
        (queue.clone(), progress.clone()),
        &progress,
    );
    helpers.stop()?;
    queue_survives(queue, killed)
}

// ---------------------------------------------------------------- Pipe

/// The child sends items of 16 KiB on its end of a one-way pipe.
fn pipe_send_loop((sender, progress): (Connection<Vec<u8>>, Value<u32>)) {
    let item = vec![5u8; 16 << 10];
    loop {
        progress.fetch_add(1);
        sender.send(item.clone()).expect("send");
    }
}

/// The child receives on its end of a one-way pipe.
fn pipe_recv_loop((receiver, progress): (Connection<Vec<u8>>, Value<u32>)) {
    loop {
        progress.fetch_add(1);
        receiver.recv().expect("recv");
    }
}

fn pipe_send_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let (receiver, sender) = Pipe::new::<Vec<u8>>(false)?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let reader = receiver.clone();
    helpers.spawn(
        move || match reader.recv_timeout(Duration::from_millis(50)) {
            Ok(_) | Err(RecvError::Timeout | RecvError::Empty) => Ok(true),
            Err(_) => Ok(false),
        },
    );
    let killed = kill_at_random(rng, pipe_send_loop, (sender, progress.clone()), &progress);
    helpers.stop()?;
    // The only sender died: the receiver drains what it sent, then sees the end of the stream
    // (or the pipe reports the death); it never waits for more.
    watched("the survivor's recv", move || {
        for _ in 0..1_000 {
            match receiver.recv_timeout(SURVIVOR) {
                Ok(_) => continue,
                Err(RecvError::Timeout | RecvError::Empty) => {
                    return Err(Hang("recv: timed out after the only sender died".into()));
                }
                Err(error) => {
                    let took = killed.elapsed();
                    let kind = kind(&Error::from(error));
                    return match receiver.recv_timeout(SURVIVOR) {
                        Err(RecvError::Timeout | RecvError::Empty) => {
                            Err(Hang(format!("{kind}, then a recv timed out")))
                        }
                        Ok(_) => Err(Hang(format!("{kind}, then an item came"))),
                        Err(_) => Ok((Verdict::Error(kind), took)),
                    };
                }
            }
        }
        Err(Hang("recv: items kept coming".into()))
    })
}

fn pipe_recv_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let (receiver, sender) = Pipe::new::<Vec<u8>>(false)?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let writer = sender.clone();
    let item = vec![3u8; 16 << 10];
    helpers.spawn(move || match writer.send(item.clone()) {
        Ok(()) => Ok(true),
        Err(_) => Ok(false),
    });
    let killed = kill_at_random(rng, pipe_recv_loop, (receiver, progress.clone()), &progress);
    // The helper's send may wait for room that only the dead receiver would have made: it must
    // learn that, so stopping it is part of the check.
    helpers.stop()?;
    // The only receiver died: sending fills the pipe, then reports it, never blocks for good.
    watched("the survivor's sends", move || {
        let item = vec![1u8; 16 << 10];
        for _ in 0..64 {
            if let Err(error) = sender.send(item.clone()) {
                let took = killed.elapsed();
                let kind = kind(&Error::from(error));
                return match sender.send(item.clone()) {
                    Ok(()) => Err(Hang(format!("{kind}, then a send went through"))),
                    Err(_) => Ok((Verdict::Error(kind), took)),
                };
            }
        }
        Err(Hang("1 MiB went into a pipe nobody reads".into()))
    })
}

// ---------------------------------------------------------------- Event

fn event_loop((event, progress): (Event, Value<u32>)) {
    loop {
        progress.fetch_add(1);
        let _ = event.wait_timeout(Duration::from_millis(1));
        event.clear();
    }
}

fn event_trial(rng: &mut KillRng) -> Result<(Verdict, Duration), Hang> {
    let event = Event::new()?;
    let progress = progress();
    let mut helpers = Helpers::new();
    let setter = event.clone();
    helpers.spawn(move || {
        setter.set();
        amphi::thread::sleep(Duration::from_micros(300))?;
        Ok(true)
    });
    let killed = kill_at_random(
        rng,
        event_loop,
        (event.clone(), progress.clone()),
        &progress,
    );
    helpers.stop()?;
    watched("set, then wait", move || {
        event.set();
        judged("wait", event.wait_timeout(SURVIVOR))?
            .map_err(|kind| Hang(format!("wait: {kind}")))?;
        Ok((Verdict::Result, killed.elapsed()))
    })
}

// ---------------------------------------------------------------- the points

kill_points! {
    fn lock_acquire_hold_release() {
        run_point("Lock: acquire, hold, release", lock_trial);
    }

    fn rlock_recursive_acquire_release() {
        run_point("RLock: acquire twice, release twice", rlock_trial);
    }

    fn semaphore_acquire_release() {
        run_point("Semaphore(2): acquire, release", semaphore_trial);
    }

    fn condition_waiting() {
        run_point("Condition: waiting (1 ms waits)", condition_waiting_trial);
    }

    fn condition_being_notified() {
        run_point("Condition: being notified", condition_notified_trial);
    }

    fn barrier_waiting() {
        run_point("Barrier(2): waiting", barrier_trial);
    }

    fn queue_put_mid_item() {
        run_point("Queue: put, mid-item (200 KiB items)", |rng| queue_put_trial(rng, 200 << 10));
    }

    fn queue_put_between_items() {
        run_point("Queue: put, between items (16 B)", |rng| queue_put_trial(rng, 16));
    }

    fn queue_get_mid_item() {
        run_point("Queue: get, mid-item (200 KiB items)", |rng| queue_get_trial(rng, 200 << 10));
    }

    fn queue_get_between_items() {
        run_point("Queue: get, between items (16 B)", |rng| queue_get_trial(rng, 16));
    }

    fn pipe_send() {
        run_point("Pipe: send (16 KiB items)", pipe_send_trial);
    }

    fn pipe_recv() {
        run_point("Pipe: recv (16 KiB items)", pipe_recv_trial);
    }

    fn event_wait_set_clear() {
        run_point("Event: wait, set, clear", event_trial);
    }
}

//! Seed 003, "the synchronisation primitives of multiprocessing": `Lock`, `RLock`,
//! `Semaphore`, `Event`, `Condition` and `Value`, each in a small scene between this process
//! and child processes (the manager's part is the `manager-dict` example).
//!
//! ```python
//! lock = multiprocessing.Lock()           # one process at a time in the critical section
//! rlock = multiprocessing.RLock()         # the same process may take it again
//! sem = multiprocessing.Semaphore(2)      # at most two processes at once
//! event = multiprocessing.Event()         # event.wait() ... event.set(): "Event received!"
//! condition = multiprocessing.Condition() # wait() ... notify_all(): "Condition met!"
//! counter = multiprocessing.Value('i', 0) # with counter.get_lock(): counter.value += 1
//! ```
//!
//! Each scene's check makes its primitive's promise visible: the most processes ever inside
//! the `Lock` (1) and the `Semaphore(2)` (at most 2), counted with atomic increments that
//! would show an overlap; the `RLock` taken twice by its owner while another process is kept
//! out; the `Event`'s waiter still waiting until the set, then released; the `Condition`'s
//! waiter really waiting when notified; the `Value` exactly 200 after two processes' 100
//! increments under its lock.

use std::time::Duration;

use crate::Run;
use amphi::process::{Condition, Event, Lock, Process, RLock, Semaphore, Value};
use amphi::{thread, Error};

const PATIENCE: Duration = Duration::from_secs(60);
const STAY: Duration = Duration::from_millis(50);

/// Raises `most` to `now` if it is lower.
fn raise(most: &Value<u32>, now: u32) {
    let mut seen = most.get();
    while seen < now {
        match most.compare_exchange(seen, now) {
            Ok(_) => return,
            Err(current) => seen = current,
        }
    }
}

/// Counts the caller in (raising `most` to how many are inside now), stays a while, and
/// counts it out again.
fn stay_inside(inside: &Value<u32>, most: &Value<u32>) {
    let now = inside.fetch_add(1) + 1;
    raise(most, now);
    let _ = thread::sleep(STAY);
    inside.fetch_sub(1);
}

fn critical_section((lock, inside, most): (Lock, Value<u32>, Value<u32>)) -> Result<(), String> {
    for _ in 0..3 {
        let _held = lock.acquire().map_err(|e| e.to_string())?;
        stay_inside(&inside, &most);
    }
    Ok(())
}

fn limited_section((sem, inside, most): (Semaphore, Value<u32>, Value<u32>)) -> Result<(), String> {
    let _permit = sem.acquire().map_err(|e| e.to_string())?;
    stay_inside(&inside, &most);
    Ok(())
}

/// Tries to take the `RLock` within a short time; then, if it got it, takes it again.
fn try_rlock(rlock: RLock) -> (bool, u32) {
    match rlock.acquire_timeout(Duration::from_millis(100)) {
        Ok(outer) => {
            let depth = rlock.acquire().map(|inner| {
                let depth = rlock.depth();
                drop(inner);
                depth
            });
            drop(outer);
            (true, depth.unwrap_or(0))
        }
        Err(_) => (false, 0),
    }
}

fn wait_for_event(event: Event) -> String {
    match event.wait_timeout(PATIENCE) {
        Ok(()) => "Event received!".to_owned(),
        Err(error) => format!("no event: {error}"),
    }
}

fn wait_for_condition((condition, flag): (Condition, Value<u32>)) -> String {
    let outcome = condition
        .acquire()
        .and_then(|_held| condition.wait_for_timeout(|| flag.get() == 1, PATIENCE));
    match outcome {
        Ok(()) => "Condition met!".to_owned(),
        Err(error) => format!("condition not met: {error}"),
    }
}

fn increment(counter: Value<i32>) -> Result<(), String> {
    let lock = counter.get_lock().ok_or("the value has no lock")?;
    for _ in 0..100 {
        let _held = lock.acquire().map_err(|e| e.to_string())?;
        counter.set(counter.get() + 1);
    }
    Ok(())
}

/// Starts one child per argument.
fn start_all<A, R>(target: fn(A) -> R, args: Vec<A>) -> Result<Vec<Process<R>>, Error>
where
    A: serde::Serialize + serde::de::DeserializeOwned,
    R: serde::Serialize + serde::de::DeserializeOwned,
{
    args.into_iter()
        .map(|arg| {
            let child = Process::new(target, arg);
            child.start().map(|()| child)
        })
        .collect()
}

/// Joins every child; the failures' texts.
fn join_all(children: &[Process<Result<(), String>>]) -> Result<Vec<String>, Error> {
    let mut failures = Vec::new();
    for child in children {
        if let Err(reason) = child.join_timeout(PATIENCE)? {
            failures.push(reason);
        }
    }
    Ok(failures)
}

fn lock_scene(run: &mut Run) -> Result<(), Error> {
    run.line("--- Lock: three processes, three visits each to the critical section ---");
    let (inside, most) = (
        Value::new_without_lock(0u32)?,
        Value::new_without_lock(0u32)?,
    );
    let lock = Lock::new()?;
    let children = start_all(
        critical_section,
        vec![(lock, inside.clone(), most.clone()); 3],
    )?;
    let failures = join_all(&children)?;
    let most = most.get();
    run.line(format!("most processes inside the lock at once: {most}"));
    run.check(
        "Lock: never more than one process inside",
        most == 1 && failures.is_empty(),
        format!("at most {most} inside; failures {failures:?}"),
    );
    Ok(())
}

fn rlock_scene(run: &mut Run) -> Result<(), Error> {
    run.line("--- RLock: the owner takes it twice; another process waits its turn ---");
    let rlock = RLock::new()?;
    let outer = rlock.acquire()?;
    let inner = rlock.acquire()?;
    let depth = rlock.depth();
    run.line(format!("this process holds the RLock {depth} times over"));
    let kept_out = Process::new(try_rlock, rlock.clone());
    kept_out.start()?;
    let (got_it_while_held, _) = kept_out.join_timeout(PATIENCE)?;
    run.line(format!(
        "another process got it while held: {got_it_while_held}"
    ));
    drop(inner);
    drop(outer);
    let after = Process::new(try_rlock, rlock);
    after.start()?;
    let (got_it_after, its_depth) = after.join_timeout(PATIENCE)?;
    run.line(format!(
        "once released, another process got it: {got_it_after}, and took it {its_depth} times over"
    ));
    run.check(
        "RLock: reentrant for its owner, exclusive for the others",
        depth == 2 && !got_it_while_held && got_it_after && its_depth == 2,
        format!(
            "owner depth {depth}; taken while held {got_it_while_held}; after release {got_it_after} (depth {its_depth})"
        ),
    );
    Ok(())
}

fn semaphore_scene(run: &mut Run) -> Result<(), Error> {
    run.line("--- Semaphore(2): four processes, at most two at once ---");
    let (inside, most) = (
        Value::new_without_lock(0u32)?,
        Value::new_without_lock(0u32)?,
    );
    let sem = Semaphore::new(2)?;
    let children = start_all(
        limited_section,
        vec![(sem, inside.clone(), most.clone()); 4],
    )?;
    let failures = join_all(&children)?;
    let most = most.get();
    run.line(format!("most processes inside at once: {most}"));
    run.check(
        "Semaphore(2): never more than two processes inside",
        (1..=2).contains(&most) && failures.is_empty(),
        format!("at most {most} inside; failures {failures:?}"),
    );
    Ok(())
}

fn event_scene(run: &mut Run) -> Result<(), Error> {
    run.line("--- Event: a process waits until this one sets it ---");
    let event = Event::new()?;
    let waiter = Process::new(wait_for_event, event.clone());
    waiter.start()?;
    thread::sleep(Duration::from_millis(100))?;
    let waiting = waiter.is_alive() && !event.is_set();
    run.line(format!(
        "before set: the waiter is still waiting: {waiting}"
    ));
    event.set();
    let said = waiter.join_timeout(PATIENCE)?;
    run.line(format!("the waiter said: {said}"));
    run.check(
        "Event: the waiter waited until the set, then went on",
        waiting && said == "Event received!",
        format!("waiting before the set {waiting}; it said '{said}'"),
    );
    Ok(())
}

fn condition_scene(run: &mut Run) -> Result<(), Error> {
    run.line("--- Condition: a process waits for a flag; this one sets it and notifies ---");
    let condition = Condition::new()?;
    let flag = Value::new_without_lock(0u32)?;
    let waiter = Process::new(wait_for_condition, (condition.clone(), flag.clone()));
    waiter.start()?;
    let started = amphi::time::Instant::now();
    while condition.waiting() == 0 && started.elapsed() < PATIENCE {
        thread::sleep(Duration::from_millis(5))?;
    }
    let woken = {
        let _held = condition.acquire()?;
        flag.set(1);
        condition.notify_all()?
    };
    let said = waiter.join_timeout(PATIENCE)?;
    run.line(format!(
        "notify_all() woke {woken}; the waiter said: {said}"
    ));
    run.check(
        "Condition: the waiter was waiting when notified, and saw the flag",
        woken == 1 && said == "Condition met!",
        format!("notify_all woke {woken}; it said '{said}'"),
    );
    Ok(())
}

fn value_scene(run: &mut Run) -> Result<(), Error> {
    run.line("--- Value: two processes add 1 a hundred times each, under its lock ---");
    let counter = Value::new(0i32)?;
    let children = start_all(increment, vec![counter.clone(); 2])?;
    let failures = join_all(&children)?;
    let value = counter.get();
    run.line(format!("counter.value = {value}"));
    run.check(
        "Value: exactly 200",
        value == 200 && failures.is_empty(),
        format!("value {value}; failures {failures:?}"),
    );
    Ok(())
}

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    lock_scene(run)?;
    rlock_scene(run)?;
    semaphore_scene(run)?;
    event_scene(run)?;
    condition_scene(run)?;
    value_scene(run)
}

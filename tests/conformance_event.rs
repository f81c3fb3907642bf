//! `Event`, `Condition` and `Barrier` conformance over every backend, after CPython's
//! `Lib/test/lock_tests.py` (`EventTests`, `ConditionTests`, `BarrierTests`): each body is
//! written once against `conformance::Backend` and run with thread primitives on threads,
//! process primitives in child processes, and process primitives on threads of one process;
//! natively and, through `wasm-pack test`, in the browser.

// The async conformance macro goes unused here.
#[macro_use]
#[allow(unused_macros)]
mod common;
#[macro_use]
mod conformance;

use std::time::Duration;

use amphi::time::Instant;
use amphi::Error;
use common::{assert_waited_at_least, wait_for, PATIENCE};
use conformance::{join_all, pause, Backend, Barrier, Condition, Counter, Event, Outcome};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

// Event (EventTests).

/// Waits for the event within `PATIENCE`, then reads what the setter wrote.
fn wait_then_read<E: Event, C: Counter>((event, data): (E, C)) -> (Outcome, u32) {
    let outcome = event.wait_timeout(PATIENCE).into();
    (outcome, data.get())
}

/// Waits `millis` for the event: how it ended, how long it took, and the flag after.
fn wait_within<E: Event>((event, millis): (E, u64)) -> (Outcome, Duration, bool) {
    let start = Instant::now();
    let outcome = event.wait_timeout(Duration::from_millis(millis)).into();
    (outcome, start.elapsed(), event.is_set())
}

/// Writes `data`, then sets the event.
fn write_then_set<E: Event, C: Counter>((event, data): (E, C)) {
    data.set(42);
    event.set();
}

fn event_is_set_set_and_clear<B: Backend>() {
    let event = B::event();
    assert!(!event.is_set());
    event.set();
    assert!(event.is_set());
    event.set();
    assert!(event.is_set(), "setting twice keeps it set");
    event.clear();
    assert!(!event.is_set());
    event.clear();
    assert!(!event.is_set());
}

fn event_wait_on_a_set_event_returns_at_once<B: Backend>() {
    let event = B::event();
    event.set();
    assert_eq!(event.wait(), Ok(()));
    assert_eq!(event.wait_timeout(Duration::ZERO), Ok(()));
    let (outcome, _, set) = B::start(wait_within::<B::Event>, (event.clone(), 0)).join();
    assert_eq!(outcome, Outcome::Ok);
    assert!(set);
}

fn event_set_wakes_every_waiter_and_publishes_what_was_written<B: Backend>() {
    const PEERS: usize = 3;
    let event = B::event();
    let data = B::counter(0);
    let waiters: Vec<_> = (0..PEERS)
        .map(|_| {
            B::start(
                wait_then_read::<B::Event, B::Counter>,
                (event.clone(), data.clone()),
            )
        })
        .collect();
    pause();
    assert!(
        waiters.iter().all(|waiter| waiter.is_alive()),
        "nobody passes an unset event"
    );
    B::start(
        write_then_set::<B::Event, B::Counter>,
        (event.clone(), data.clone()),
    )
    .join();
    assert_eq!(join_all(waiters), [(Outcome::Ok, 42); PEERS]);
    assert!(event.is_set());
}

fn event_wait_timeout_on_an_unset_event_times_out<B: Backend>() {
    let event = B::event();
    let (outcome, waited, set) = B::start(wait_within::<B::Event>, (event.clone(), 100)).join();
    assert_eq!(outcome, Outcome::Timeout);
    assert_waited_at_least(waited, Duration::from_millis(100));
    assert!(!set);
    let start = Instant::now();
    assert_eq!(
        event.wait_timeout(Duration::from_millis(50)),
        Err(Error::Timeout)
    );
    assert_waited_at_least(start.elapsed(), Duration::from_millis(50));
}

fn event_set_then_clear_then_wait_times_out<B: Backend>() {
    let event = B::event();
    event.set();
    event.clear();
    let (outcome, _, _) = B::start(wait_within::<B::Event>, (event.clone(), 20)).join();
    assert_eq!(
        outcome,
        Outcome::Timeout,
        "a cleared event holds waiters again"
    );
}

fn event_wait_timeout_succeeds_when_set_in_time<B: Backend>() {
    let event = B::event();
    let waiter = B::start(
        wait_within::<B::Event>,
        (event.clone(), PATIENCE.as_millis() as u64),
    );
    pause();
    event.set();
    let (outcome, _, set) = waiter.join();
    assert_eq!(outcome, Outcome::Ok);
    assert!(set);
}

/// Counts itself in `waiting`, then waits for the event within `PATIENCE`.
fn count_then_wait<E: Event, C: Counter>((event, waiting): (E, C)) -> Outcome {
    waiting.fetch_add(1);
    event.wait_timeout(PATIENCE).into()
}

fn event_a_waiter_present_at_set_passes_even_if_clear_follows_at_once<B: Backend>() {
    // CPython's EventTests.test_set_and_clear (bpo-13502).
    let event = B::event();
    let waiting = B::counter(0);
    let waiters: Vec<_> = (0..3)
        .map(|_| {
            B::start(
                count_then_wait::<B::Event, B::Counter>,
                (event.clone(), waiting.clone()),
            )
        })
        .collect();
    wait_for("three waiters", || waiting.get() == 3);
    amphi::thread::sleep(Duration::from_millis(50)).unwrap();
    event.set();
    event.clear();
    assert_eq!(join_all(waiters), [Outcome::Ok; 3]);
    assert!(!event.is_set());
}

// Condition (ConditionTests), over its default RLock.

/// Counts itself in `started` (under the lock), waits for a notification within `PATIENCE`,
/// counts itself in `woken`.
fn wait_and_count<C: Condition, N: Counter>((cond, started, woken): (C, N, N)) -> Outcome {
    let _held = cond.acquire().expect("the condition's lock");
    started.fetch_add(1);
    let outcome = cond.wait_timeout(PATIENCE).into();
    woken.fetch_add(1);
    outcome
}

/// Waits within `PATIENCE` for `value` to reach `wanted`: the value it saw.
fn wait_for_value<C: Condition, N: Counter>((cond, value, wanted): (C, N, u32)) -> (Outcome, u32) {
    let _held = cond.acquire().expect("the condition's lock");
    let outcome = cond
        .wait_for_timeout(&mut || value.get() == wanted, PATIENCE)
        .into();
    (outcome, value.get())
}

/// Notifies without holding the lock.
fn notify_as_a_stranger<C: Condition>(cond: C) -> (Outcome, Outcome) {
    (cond.notify(1).into(), cond.wait().into())
}

/// Starts `n` waiters on `cond`, returning once all of them wait.
fn start_waiters<B: Backend>(
    cond: &B::Condition,
    n: u32,
) -> (Vec<conformance::Peer<Outcome>>, B::Counter) {
    let started = B::counter(0);
    let woken = B::counter(0);
    let waiters = (0..n)
        .map(|_| {
            B::start(
                wait_and_count::<B::Condition, B::Counter>,
                (cond.clone(), started.clone(), woken.clone()),
            )
        })
        .collect();
    wait_for("every waiter to wait", || cond.waiting() == n as usize);
    assert_eq!(started.get(), n);
    (waiters, woken)
}

fn condition_refuses_callers_without_the_lock<B: Backend>() {
    let cond = B::condition();
    assert_eq!(cond.wait(), Err(Error::NotOwner));
    assert_eq!(cond.wait_timeout(Duration::ZERO), Err(Error::NotOwner));
    assert_eq!(cond.notify(1), Err(Error::NotOwner));
    assert_eq!(cond.notify_all(), Err(Error::NotOwner));
    assert_eq!(cond.waiting(), 0);
    let _held = cond.acquire().unwrap();
    assert_eq!(
        B::start(notify_as_a_stranger::<B::Condition>, cond.clone()).join(),
        (Outcome::NotOwner, Outcome::NotOwner),
        "nor may a peer while another holds it"
    );
}

fn condition_notify_n_wakes_exactly_n_waiters<B: Backend>() {
    let cond = B::condition();
    let (waiters, woken) = start_waiters::<B>(&cond, 3);
    {
        let _held = cond.acquire().unwrap();
        assert_eq!(cond.notify(1).unwrap(), 1);
    }
    wait_for("one waiter to wake", || woken.get() == 1);
    pause();
    assert_eq!(woken.get(), 1, "notify(1) wakes one");
    assert_eq!(cond.waiting(), 2);
    {
        let _held = cond.acquire().unwrap();
        assert_eq!(cond.notify(2).unwrap(), 2);
        assert_eq!(cond.notify(2).unwrap(), 0, "nobody is left");
    }
    assert_eq!(join_all(waiters), [Outcome::Ok; 3]);
    assert_eq!(woken.get(), 3);
}

fn condition_notify_all_wakes_everyone_present<B: Backend>() {
    let cond = B::condition();
    {
        let _held = cond.acquire().unwrap();
        assert_eq!(cond.notify_all().unwrap(), 0, "nobody waits yet");
    }
    let (waiters, woken) = start_waiters::<B>(&cond, 3);
    {
        let _held = cond.acquire().unwrap();
        assert_eq!(cond.notify_all().unwrap(), 3);
    }
    assert_eq!(join_all(waiters), [Outcome::Ok; 3]);
    assert_eq!(woken.get(), 3);
    assert_eq!(cond.waiting(), 0);
}

fn condition_wait_timeout_times_out_and_holds_the_lock_again<B: Backend>() {
    let cond = B::condition();
    let held = cond.acquire().unwrap();
    let start = Instant::now();
    assert_eq!(
        cond.wait_timeout(Duration::from_millis(50)),
        Err(Error::Timeout)
    );
    assert_waited_at_least(start.elapsed(), Duration::from_millis(50));
    assert_eq!(
        cond.notify(1),
        Ok(0),
        "the lock is held again, and nobody waits"
    );
    assert_eq!(cond.waiting(), 0);
    drop(held);
}

fn condition_wait_releases_every_level_of_its_rlock<B: Backend>() {
    let cond = B::condition();
    let outer = cond.acquire().unwrap();
    let inner = cond.acquire().unwrap();
    let notifier = B::start(take_and_notify::<B::Condition>, cond.clone());
    assert_eq!(
        cond.wait_timeout(PATIENCE),
        Ok(()),
        "the peer got the lock while this one waited, two levels deep"
    );
    assert_eq!(notifier.join(), (Outcome::Ok, Outcome::Ok));
    drop(inner);
    assert_eq!(cond.notify(1), Ok(0), "both levels are held again");
    drop(outer);
    assert_eq!(cond.notify(1), Err(Error::NotOwner));
}

/// Takes the condition's lock within `PATIENCE` and notifies everyone.
fn take_and_notify<C: Condition>(cond: C) -> (Outcome, Outcome) {
    let held = cond.acquire();
    let taken = Outcome::from(held.as_ref().map(drop).map_err(Clone::clone));
    (taken, cond.notify_all().into())
}

fn condition_wait_for_rechecks_the_predicate<B: Backend>() {
    let cond = B::condition();
    let value = B::counter(0);
    let waiter = B::start(
        wait_for_value::<B::Condition, B::Counter>,
        (cond.clone(), value.clone(), 3),
    );
    for step in 1..=3 {
        wait_for("the waiter to wait", || cond.waiting() == 1);
        let _held = cond.acquire().unwrap();
        value.set(step);
        assert_eq!(cond.notify_all().unwrap(), 1);
    }
    assert_eq!(waiter.join(), (Outcome::Ok, 3));
}

fn condition_wait_for_timeout_gives_up_when_the_predicate_stays_false<B: Backend>() {
    let cond = B::condition();
    let _held = cond.acquire().unwrap();
    let start = Instant::now();
    assert_eq!(
        cond.wait_for_timeout(&mut || false, Duration::from_millis(50)),
        Err(Error::Timeout)
    );
    assert_waited_at_least(start.elapsed(), Duration::from_millis(50));
    assert_eq!(cond.wait_for_timeout(&mut || true, Duration::ZERO), Ok(()));
}

// Barrier (BarrierTests), without an action.

/// Passes the barrier `rounds` times, checking after each that everybody arrived and nobody
/// ran ahead; the indices it got.
fn lockstep<R: Barrier, C: Counter>((barrier, arrivals, rounds): (R, C, u32)) -> Vec<u32> {
    let parties = barrier.parties();
    let mut indices = Vec::new();
    for round in 0..rounds {
        arrivals.fetch_add(1);
        indices.push(barrier.wait_timeout(PATIENCE).expect("the round completes"));
        let seen = arrivals.get();
        assert!(
            seen >= (round + 1) * parties && seen <= (round + 2) * parties,
            "round {round}: {seen} arrivals"
        );
        barrier
            .wait_timeout(PATIENCE)
            .expect("the round's check completes");
    }
    indices
}

fn wait_on_barrier<R: Barrier>((barrier, millis): (R, u64)) -> Outcome {
    barrier.wait_timeout(Duration::from_millis(millis)).into()
}

fn barrier_of_zero_parties_is_invalid<B: Backend>() {
    assert!(matches!(
        B::barrier(0).map(drop),
        Err(Error::InvalidArgument(_))
    ));
}

fn barrier_of_one_party_passes_at_once<B: Backend>() {
    let barrier = B::barrier(1).unwrap();
    for _ in 0..3 {
        assert_eq!(barrier.wait(), Ok(0));
    }
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

fn barrier_parties_pass_in_lockstep_with_distinct_indices<B: Backend>() {
    const PEERS: u32 = 3;
    const ROUNDS: u32 = if cfg!(miri) { 5 } else { 50 };
    let barrier = B::barrier(PEERS + 1).unwrap();
    let arrivals = B::counter(0);
    let peers: Vec<_> = (0..PEERS)
        .map(|_| {
            B::start(
                lockstep::<B::Barrier, B::Counter>,
                (barrier.clone(), arrivals.clone(), ROUNDS),
            )
        })
        .collect();
    let mine = lockstep((barrier.clone(), arrivals.clone(), ROUNDS));
    let mut all: Vec<Vec<u32>> = join_all(peers);
    all.push(mine);
    for round in 0..ROUNDS as usize {
        let mut indices: Vec<u32> = all.iter().map(|indices| indices[round]).collect();
        indices.sort_unstable();
        assert_eq!(indices, (0..=PEERS).collect::<Vec<_>>(), "round {round}");
    }
    assert_eq!(arrivals.get(), (PEERS + 1) * ROUNDS);
    assert_eq!(barrier.n_waiting(), 0);
    assert!(!barrier.broken());
}

fn barrier_abort_breaks_it_for_every_waiter<B: Backend>() {
    let barrier = B::barrier(3).unwrap();
    let waiters: Vec<_> = (0..2)
        .map(|_| {
            B::start(
                wait_on_barrier::<B::Barrier>,
                (barrier.clone(), PATIENCE.as_millis() as u64),
            )
        })
        .collect();
    wait_for("both to wait", || barrier.n_waiting() == 2);
    barrier.abort().unwrap();
    assert_eq!(join_all(waiters), [Outcome::BrokenBarrier; 2]);
    assert!(barrier.broken());
    assert_eq!(
        barrier.wait(),
        Err(Error::BrokenBarrier),
        "broken until reset"
    );
    barrier.reset().unwrap();
    assert!(!barrier.broken());
}

fn barrier_reset_releases_waiters_broken_and_it_is_usable_again<B: Backend>() {
    let barrier = B::barrier(2).unwrap();
    let waiter = B::start(
        wait_on_barrier::<B::Barrier>,
        (barrier.clone(), PATIENCE.as_millis() as u64),
    );
    wait_for("the waiter to wait", || barrier.n_waiting() == 1);
    barrier.reset().unwrap();
    assert_eq!(waiter.join(), Outcome::BrokenBarrier);
    assert!(!barrier.broken(), "a reset barrier is whole");
    let again = B::start(
        wait_on_barrier::<B::Barrier>,
        (barrier.clone(), PATIENCE.as_millis() as u64),
    );
    assert!(barrier.wait_timeout(PATIENCE).is_ok());
    assert_eq!(again.join(), Outcome::Ok);
}

fn barrier_timed_out_wait_breaks_it_for_everyone<B: Backend>() {
    let barrier = B::barrier(3).unwrap();
    let stayer = B::start(
        wait_on_barrier::<B::Barrier>,
        (barrier.clone(), PATIENCE.as_millis() as u64),
    );
    wait_for("the stayer to wait", || barrier.n_waiting() == 1);
    let quitter = B::start(wait_on_barrier::<B::Barrier>, (barrier.clone(), 50));
    assert_eq!(
        quitter.join(),
        Outcome::BrokenBarrier,
        "the waiter that timed out broke it"
    );
    assert_eq!(stayer.join(), Outcome::BrokenBarrier);
    assert!(barrier.broken());
    barrier.reset().unwrap();
    assert!(!barrier.broken());
}

fn barrier_n_waiting_counts_the_current_round<B: Backend>() {
    let barrier = B::barrier(3).unwrap();
    assert_eq!(barrier.parties(), 3);
    assert_eq!(barrier.n_waiting(), 0);
    let first = B::start(
        wait_on_barrier::<B::Barrier>,
        (barrier.clone(), PATIENCE.as_millis() as u64),
    );
    wait_for("one waiter", || barrier.n_waiting() == 1);
    let second = B::start(
        wait_on_barrier::<B::Barrier>,
        (barrier.clone(), PATIENCE.as_millis() as u64),
    );
    wait_for("two waiters", || barrier.n_waiting() == 2);
    assert!(barrier.wait_timeout(PATIENCE).is_ok());
    assert_eq!(join_all(vec![first, second]), [Outcome::Ok; 2]);
    assert_eq!(barrier.n_waiting(), 0, "a new round starts empty");
}

every_backend! {
    event_is_set_set_and_clear,
    event_wait_on_a_set_event_returns_at_once,
    event_set_wakes_every_waiter_and_publishes_what_was_written,
    event_wait_timeout_on_an_unset_event_times_out,
    event_set_then_clear_then_wait_times_out,
    event_wait_timeout_succeeds_when_set_in_time,
    event_a_waiter_present_at_set_passes_even_if_clear_follows_at_once,
    condition_refuses_callers_without_the_lock,
    condition_notify_n_wakes_exactly_n_waiters,
    condition_notify_all_wakes_everyone_present,
    condition_wait_timeout_times_out_and_holds_the_lock_again,
    condition_wait_releases_every_level_of_its_rlock,
    condition_wait_for_rechecks_the_predicate,
    condition_wait_for_timeout_gives_up_when_the_predicate_stays_false,
    barrier_of_zero_parties_is_invalid,
    barrier_of_one_party_passes_at_once,
    barrier_parties_pass_in_lockstep_with_distinct_indices,
    barrier_abort_breaks_it_for_every_waiter,
    barrier_reset_releases_waiters_broken_and_it_is_usable_again,
    barrier_timed_out_wait_breaks_it_for_everyone,
    barrier_n_waiting_counts_the_current_round,
}

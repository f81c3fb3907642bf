//! `Semaphore` and `BoundedSemaphore` conformance over every backend, after CPython's
//! `Lib/test/lock_tests.py` (`BaseSemaphoreTests`, `SemaphoreTests`, `BoundedSemaphoreTests`):
//! each body is written once against `conformance::Backend` and run with thread primitives on
//! threads, process primitives in child processes, and process primitives on threads of one
//! process; natively and, through `wasm-pack test`, in the browser.

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
use conformance::{join_all, pause, Backend, Counter, Guard, Outcome, Semaphore};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Tries for a permit once; keeps it if taken.
fn try_take<S: Semaphore>(sem: S) -> bool {
    sem.try_acquire().map(Guard::leak).is_some()
}

/// Counts itself in `started`, takes a permit within `PATIENCE` and keeps it, counts itself in
/// `done`.
fn take_and_count<S: Semaphore, C: Counter>((sem, started, done): (S, C, C)) -> Outcome {
    started.fetch_add(1);
    let outcome = sem.acquire_timeout(PATIENCE).map(Guard::leak).into();
    done.fetch_add(1);
    outcome
}

/// Waits `millis` for a permit (kept if taken): how it ended and how long it took.
fn take_within<S: Semaphore>((sem, millis): (S, u64)) -> (Outcome, Duration) {
    let start = Instant::now();
    let outcome = sem
        .acquire_timeout(Duration::from_millis(millis))
        .map(Guard::leak)
        .into();
    (outcome, start.elapsed())
}

/// Holds a permit for a moment, `rounds` times, recording the most permits ever held at once.
fn use_a_slot<S: Semaphore, C: Counter>((sem, busy, most, rounds): (S, C, C, u32)) {
    for _ in 0..rounds {
        let _permit = sem.acquire_timeout(PATIENCE).expect("a permit comes back");
        let now = busy.fetch_add(1) + 1;
        let mut seen = most.get();
        while seen < now {
            // Only this body writes `most` upwards; a lost race re-reads.
            most.set(now);
            seen = most.get();
        }
        std::hint::spin_loop();
        busy.fetch_sub(1);
    }
}

fn release_n<S: Semaphore>((sem, n): (S, u32)) -> Outcome {
    sem.release(n).into()
}

macro_rules! both_kinds {
    ($($semaphore:ident, $bounded:ident => $body:ident;)*) => {$(
        fn $semaphore<B: Backend>() {
            $body::<B, _>(B::semaphore);
        }

        fn $bounded<B: Backend>() {
            $body::<B, _>(B::bounded_semaphore);
        }
    )*};
}

both_kinds! {
    semaphore_acquire_then_release, bounded_semaphore_acquire_then_release
        => acquire_then_release;
    semaphore_try_acquire_refused_leaves_the_value, bounded_semaphore_try_acquire_refused_leaves_the_value
        => try_acquire_refused_leaves_the_value;
    semaphore_try_acquire_refused_in_a_peer, bounded_semaphore_try_acquire_refused_in_a_peer
        => try_acquire_refused_in_a_peer;
    semaphore_acquire_contended_wakes_every_waiter, bounded_semaphore_acquire_contended_wakes_every_waiter
        => acquire_contended_wakes_every_waiter;
    semaphore_bounds_concurrency, bounded_semaphore_bounds_concurrency
        => bounds_concurrency;
    semaphore_acquire_timeout_in_a_peer_times_out, bounded_semaphore_acquire_timeout_in_a_peer_times_out
        => acquire_timeout_in_a_peer_times_out;
    semaphore_acquire_timeout_succeeds_when_released_in_time, bounded_semaphore_acquire_timeout_succeeds_when_released_in_time
        => acquire_timeout_succeeds_when_released_in_time;
    semaphore_release_zero_is_invalid, bounded_semaphore_release_zero_is_invalid
        => release_zero_is_invalid;
    semaphore_release_n_wakes_n_waiters, bounded_semaphore_release_n_wakes_n_waiters
        => release_n_wakes_n_waiters;
    semaphore_try_acquire_contended, bounded_semaphore_try_acquire_contended
        => try_acquire_contended;
    semaphore_guards_give_permits_back_also_when_unwinding, bounded_semaphore_guards_give_permits_back_also_when_unwinding
        => guards_give_permits_back_also_when_unwinding;
}

/// Tries twice for a permit, keeping those taken: how many it took.
fn try_twice<S: Semaphore>(sem: S) -> u32 {
    (0..2).map(|_| u32::from(try_take(sem.clone()))).sum()
}

/// CPython's test_try_acquire_contended: 3 permits left, 3 peers try twice each.
fn try_acquire_contended<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(4);
    sem.acquire().unwrap().leak();
    let peers: Vec<_> = (0..3)
        .map(|_| B::start(try_twice::<S>, sem.clone()))
        .collect();
    assert_eq!(
        join_all(peers).into_iter().sum::<u32>(),
        3,
        "three permits, three taken"
    );
    assert_eq!(sem.value(), 0, "and the three refusals gave nothing back");
}

/// CPython's test_with, with guards (and a panic standing for the exception).
fn guards_give_permits_back_also_when_unwinding<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(2);
    {
        let _outer = sem.acquire().unwrap();
        let probe = sem.try_acquire().expect("one permit is left");
        drop(probe);
        let _inner = sem.acquire().unwrap();
        assert!(sem.try_acquire().is_none());
    }
    assert_eq!(sem.value(), 2);
    // A panic unwinds through the guards, natively and in the browser.
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _outer = sem.acquire().unwrap();
        let _inner = sem.acquire().unwrap();
        panic!("inside the semaphore");
    }));
    assert!(unwound.is_err());
    assert_eq!(sem.value(), 2, "unwinding gave both permits back");
}

fn acquire_then_release<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(3);
    assert_eq!(sem.value(), 3);
    let first = sem.acquire().unwrap();
    let second = sem.acquire_timeout(PATIENCE).unwrap();
    assert_eq!(sem.value(), 1);
    drop(first);
    assert_eq!(sem.value(), 2);
    sem.acquire().unwrap().leak();
    assert_eq!(sem.value(), 1);
    sem.release(1).unwrap();
    drop(second);
    assert_eq!(sem.value(), 3);
}

/// A refused `try_acquire` (or a timed-out acquire) gives nothing back: the value stays where
/// it was, and a bounded semaphore stays within its bound.
fn try_acquire_refused_leaves_the_value<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(1);
    let permit = sem.try_acquire().expect("one permit");
    assert_eq!(sem.value(), 0);
    for _ in 0..3 {
        assert!(sem.try_acquire().is_none(), "no permit is left");
        assert_eq!(sem.value(), 0, "a refused try_acquire leaves the value");
    }
    assert_eq!(
        sem.acquire_timeout(Duration::ZERO).map(drop),
        Err(Error::Timeout)
    );
    assert_eq!(sem.value(), 0, "a timed-out acquire leaves the value");
    drop(permit);
    assert_eq!(sem.value(), 1, "the one permit came back, once");
    let empty = new(0);
    assert!(empty.try_acquire().is_none());
    assert!(empty.try_acquire().is_none());
    assert_eq!(empty.value(), 0, "refusals make no permits");
}

fn try_acquire_refused_in_a_peer<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(2);
    sem.acquire().unwrap().leak();
    assert!(
        B::start(try_take::<S>, sem.clone()).join(),
        "the second permit"
    );
    assert_eq!(sem.value(), 0);
    assert!(!B::start(try_take::<S>, sem.clone()).join(), "refused");
    assert_eq!(
        sem.value(),
        0,
        "a refused try_acquire in a peer leaves the value"
    );
    sem.release(2).unwrap();
    assert_eq!(sem.value(), 2);
}

/// Three peers block on an exhausted semaphore; each release lets exactly one through.
fn acquire_contended_wakes_every_waiter<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    const PEERS: u32 = 3;
    let sem = new(PEERS);
    for _ in 0..PEERS {
        sem.acquire().unwrap().leak();
    }
    let started = B::counter(0);
    let done = B::counter(0);
    let peers: Vec<_> = (0..PEERS)
        .map(|_| {
            B::start(
                take_and_count::<S, B::Counter>,
                (sem.clone(), started.clone(), done.clone()),
            )
        })
        .collect();
    wait_for("every peer to start", || started.get() == PEERS);
    pause();
    assert_eq!(done.get(), 0, "nobody got a permit that is not there");
    for released in 1..=PEERS {
        sem.release(1).unwrap();
        wait_for("one more peer to get in", || done.get() == released);
        pause();
        assert_eq!(done.get(), released, "one permit lets one peer in");
    }
    assert_eq!(join_all(peers), [Outcome::Ok; PEERS as usize]);
    assert_eq!(sem.value(), 0, "the peers kept their permits");
}

/// Three peers share two permits: never more than two hold one at once.
fn bounds_concurrency<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    const ROUNDS: u32 = if cfg!(miri) { 10 } else { 200 };
    let sem = new(2);
    let busy = B::counter(0);
    let most = B::counter(0);
    let peers: Vec<_> = (0..3)
        .map(|_| {
            B::start(
                use_a_slot::<S, B::Counter>,
                (sem.clone(), busy.clone(), most.clone(), ROUNDS),
            )
        })
        .collect();
    join_all(peers);
    assert_eq!(sem.value(), 2);
    assert_eq!(busy.get(), 0);
    assert!(
        (1..=2).contains(&most.get()),
        "at most two at once: {}",
        most.get()
    );
}

fn acquire_timeout_in_a_peer_times_out<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(1);
    let _permit = sem.acquire().unwrap();
    let (outcome, waited) = B::start(take_within::<S>, (sem.clone(), 100)).join();
    assert_eq!(outcome, Outcome::Timeout);
    assert_waited_at_least(waited, Duration::from_millis(100));
    assert_eq!(sem.value(), 0, "a timed-out waiter takes and gives nothing");
}

fn acquire_timeout_succeeds_when_released_in_time<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(1);
    sem.acquire().unwrap().leak();
    let waiter = B::start(take_within::<S>, (sem.clone(), PATIENCE.as_millis() as u64));
    pause();
    assert_eq!(
        B::start(release_n::<S>, (sem.clone(), 1)).join(),
        Outcome::Ok
    );
    assert_eq!(waiter.join().0, Outcome::Ok);
    assert_eq!(sem.value(), 0, "the waiter kept the permit");
}

fn release_zero_is_invalid<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    let sem = new(1);
    assert!(matches!(sem.release(0), Err(Error::InvalidArgument(_))));
    assert_eq!(sem.value(), 1);
}

/// `release(n)` wakes `n` sleepers, not fewer.
fn release_n_wakes_n_waiters<B: Backend, S: Semaphore>(new: fn(u32) -> S) {
    const PEERS: u32 = 3;
    let sem = new(PEERS);
    for _ in 0..PEERS {
        sem.acquire().unwrap().leak();
    }
    let started = B::counter(0);
    let done = B::counter(0);
    let peers: Vec<_> = (0..PEERS)
        .map(|_| {
            B::start(
                take_and_count::<S, B::Counter>,
                (sem.clone(), started.clone(), done.clone()),
            )
        })
        .collect();
    wait_for("every peer to start", || started.get() == PEERS);
    pause();
    sem.release(PEERS).unwrap();
    assert_eq!(join_all(peers), [Outcome::Ok; PEERS as usize]);
    assert_eq!(sem.value(), 0);
}

// Semaphore only: releases raise the value past the initial one.

fn semaphore_release_unacquired_raises_the_value<B: Backend>() {
    let sem = B::semaphore(0);
    sem.release(1).unwrap();
    assert_eq!(
        B::start(release_n::<B::Semaphore>, (sem.clone(), 2)).join(),
        Outcome::Ok
    );
    assert_eq!(sem.value(), 3);
    assert!(sem.try_acquire().is_some());
    assert_eq!(sem.value(), 3);
}

fn semaphore_release_past_u32_is_invalid<B: Backend>() {
    let sem = B::semaphore(u32::MAX - 1);
    sem.release(1).unwrap();
    assert!(matches!(sem.release(1), Err(Error::InvalidArgument(_))));
    assert_eq!(sem.value(), u32::MAX);
}

// BoundedSemaphore only: never above its initial value.

fn bounded_semaphore_release_unacquired_overflows<B: Backend>() {
    let sem = B::bounded_semaphore(2);
    assert_eq!(B::initial(&sem), 2);
    assert_eq!(sem.release(1), Err(Error::SemaphoreOverflow { initial: 2 }));
    assert_eq!(sem.value(), 2, "a refused release changes nothing");
    sem.acquire().unwrap().leak();
    assert_eq!(
        sem.release(2),
        Err(Error::SemaphoreOverflow { initial: 2 }),
        "all or nothing"
    );
    assert_eq!(sem.value(), 1);
    assert_eq!(
        sem.release(u32::MAX),
        Err(Error::SemaphoreOverflow { initial: 2 })
    );
    sem.release(1).unwrap();
    assert_eq!(sem.value(), 2);
    let empty = B::bounded_semaphore(0);
    assert_eq!(
        empty.release(1),
        Err(Error::SemaphoreOverflow { initial: 0 })
    );
    assert_eq!(empty.value(), 0);
}

fn bounded_semaphore_release_in_a_peer_is_bounded<B: Backend>() {
    let sem = B::bounded_semaphore(1);
    assert_eq!(
        B::start(release_n::<B::BoundedSemaphore>, (sem.clone(), 1)).join(),
        Outcome::SemaphoreOverflow
    );
    sem.acquire().unwrap().leak();
    assert_eq!(
        B::start(release_n::<B::BoundedSemaphore>, (sem.clone(), 1)).join(),
        Outcome::Ok
    );
    assert_eq!(sem.value(), 1);
}

fn bounded_semaphore_refusals_never_lift_it_past_its_bound<B: Backend>() {
    // Refused tries and timed-out waits between the takes: the bound still holds.
    let sem = B::bounded_semaphore(2);
    for _ in 0..3 {
        let first = sem.try_acquire().expect("a permit");
        let second = sem.try_acquire().expect("a permit");
        assert!(sem.try_acquire().is_none());
        assert_eq!(
            sem.acquire_timeout(Duration::ZERO).map(drop),
            Err(Error::Timeout)
        );
        drop((first, second));
        assert_eq!(sem.value(), 2);
        assert_eq!(sem.release(1), Err(Error::SemaphoreOverflow { initial: 2 }));
    }
    assert!(sem.value() <= B::initial(&sem));
}

every_backend! {
    semaphore_acquire_then_release,
    bounded_semaphore_acquire_then_release,
    semaphore_try_acquire_refused_leaves_the_value,
    bounded_semaphore_try_acquire_refused_leaves_the_value,
    semaphore_try_acquire_refused_in_a_peer,
    bounded_semaphore_try_acquire_refused_in_a_peer,
    semaphore_acquire_contended_wakes_every_waiter,
    bounded_semaphore_acquire_contended_wakes_every_waiter,
    semaphore_bounds_concurrency,
    bounded_semaphore_bounds_concurrency,
    semaphore_acquire_timeout_in_a_peer_times_out,
    bounded_semaphore_acquire_timeout_in_a_peer_times_out,
    semaphore_acquire_timeout_succeeds_when_released_in_time,
    bounded_semaphore_acquire_timeout_succeeds_when_released_in_time,
    semaphore_release_zero_is_invalid,
    bounded_semaphore_release_zero_is_invalid,
    semaphore_release_n_wakes_n_waiters,
    bounded_semaphore_release_n_wakes_n_waiters,
    semaphore_try_acquire_contended,
    bounded_semaphore_try_acquire_contended,
    semaphore_guards_give_permits_back_also_when_unwinding,
    bounded_semaphore_guards_give_permits_back_also_when_unwinding,
    semaphore_release_unacquired_raises_the_value,
    semaphore_release_past_u32_is_invalid,
    bounded_semaphore_release_unacquired_overflows,
    bounded_semaphore_release_in_a_peer_is_bounded,
    bounded_semaphore_refusals_never_lift_it_past_its_bound,
}

//! `Lock` and `RLock` conformance over every backend, after CPython's `Lib/test/lock_tests.py`
//! (`BaseLockTests`, `LockTests`, `RLockTests`): each body is written once against
//! `conformance::Backend` and run with thread primitives on threads, process primitives in
//! child processes, and process primitives on threads of one process; natively and, through
//! `wasm-pack test`, in the browser (where child processes are process workers).

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
use conformance::{join_all, pause, Backend, Counter, Guard, Lock, Outcome, RLock};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Tries the lock once; keeps it if taken.
fn try_take<L: Lock>(lock: L) -> bool {
    lock.try_acquire().map(Guard::leak).is_some()
}

/// Counts itself in `started`, takes the lock within `PATIENCE`, counts itself in `done`,
/// releases.
fn take_and_count<L: Lock, C: Counter>((lock, started, done): (L, C, C)) -> Outcome {
    started.fetch_add(1);
    let held = lock.acquire_timeout(PATIENCE);
    let outcome = Outcome::from(held.as_ref().map(drop).map_err(Clone::clone));
    done.fetch_add(1);
    drop(held);
    outcome
}

fn release_it<L: Lock>(lock: L) -> Outcome {
    lock.release().into()
}

fn take_and_keep<L: Lock>(lock: L) -> Outcome {
    lock.acquire_timeout(PATIENCE).map(Guard::leak).into()
}

/// Waits `millis` for the lock: how it ended and how long it took.
fn take_within<L: Lock>((lock, millis): (L, u64)) -> (Outcome, Duration) {
    let start = Instant::now();
    let outcome = lock
        .acquire_timeout(Duration::from_millis(millis))
        .map(Guard::leak)
        .into();
    (outcome, start.elapsed())
}

/// `rounds` split read-modify-writes of `counter`, each under the lock.
fn increment_under<L: Lock, C: Counter>((lock, counter, rounds): (L, C, u32)) {
    for _ in 0..rounds {
        let _held = lock.acquire_timeout(PATIENCE).expect("the lock comes free");
        let seen = counter.get();
        std::hint::spin_loop();
        counter.set(seen + 1);
    }
}

// Lock and RLock alike (BaseLockTests), over each.

fn lock_acquire_then_release<B: Backend>() {
    acquire_then_release(B::lock());
}

fn rlock_acquire_then_release<B: Backend>() {
    acquire_then_release(B::rlock());
}

fn acquire_then_release<L: Lock>(lock: L) {
    assert!(!lock.locked());
    let guard = lock.acquire().unwrap();
    assert!(lock.locked());
    drop(guard);
    assert!(!lock.locked());
    lock.acquire().unwrap().leak();
    assert!(lock.locked());
    lock.release().unwrap();
    assert!(!lock.locked());
}

fn lock_try_acquire_refused_in_a_peer<B: Backend>() {
    try_acquire_refused_in_a_peer::<B, _>(B::lock());
}

fn rlock_try_acquire_refused_in_a_peer<B: Backend>() {
    try_acquire_refused_in_a_peer::<B, _>(B::rlock());
}

fn try_acquire_refused_in_a_peer<B: Backend, L: Lock>(lock: L) {
    let guard = lock.try_acquire().expect("a free lock is taken");
    assert!(!B::start(try_take::<L>, lock.clone()).join(), "refused");
    assert!(lock.locked(), "a refused try_acquire leaves the lock held");
    drop(guard);
    assert!(!lock.locked(), "and changes nothing else");
    assert!(
        B::start(try_take::<L>, lock.clone()).join(),
        "taken once free"
    );
    assert!(lock.locked());
}

fn lock_acquire_timeout_in_a_peer_times_out<B: Backend>() {
    acquire_timeout_in_a_peer_times_out::<B, _>(B::lock());
}

fn rlock_acquire_timeout_in_a_peer_times_out<B: Backend>() {
    acquire_timeout_in_a_peer_times_out::<B, _>(B::rlock());
}

fn acquire_timeout_in_a_peer_times_out<B: Backend, L: Lock>(lock: L) {
    let _held = lock.acquire().unwrap();
    let (outcome, waited) = B::start(take_within::<L>, (lock.clone(), 100)).join();
    assert_eq!(outcome, Outcome::Timeout);
    assert_waited_at_least(waited, Duration::from_millis(100));
    assert!(
        lock.locked(),
        "a timed-out waiter leaves the holder's lock held"
    );
}

fn lock_acquire_timeout_succeeds_when_released_in_time<B: Backend>() {
    let lock = B::lock();
    lock.acquire().unwrap().leak();
    let waiter = B::start(take_and_keep::<B::Lock>, lock.clone());
    pause();
    lock.release().unwrap();
    assert_eq!(waiter.join(), Outcome::Ok);
    assert!(lock.locked(), "the waiter now holds it");
}

fn lock_zero_timeout_behaves_like_try<B: Backend>() {
    let lock = B::lock();
    let held = lock
        .acquire_timeout(Duration::ZERO)
        .expect("a free lock is taken at once");
    assert_eq!(
        lock.acquire_timeout(Duration::ZERO).map(drop),
        Err(Error::Timeout)
    );
    assert!(lock.locked());
    drop(held);
    assert!(!lock.locked());
}

fn lock_acquire_contended_wakes_every_waiter<B: Backend>() {
    acquire_contended_wakes_every_waiter::<B, _>(B::lock());
}

fn rlock_acquire_contended_wakes_every_waiter<B: Backend>() {
    acquire_contended_wakes_every_waiter::<B, _>(B::rlock());
}

/// Three peers block on a held lock; none gets in before the release, each after it.
fn acquire_contended_wakes_every_waiter<B: Backend, L: Lock>(lock: L) {
    const PEERS: u32 = 3;
    let started = B::counter(0);
    let done = B::counter(0);
    let held = lock.acquire().unwrap();
    let peers: Vec<_> = (0..PEERS)
        .map(|_| {
            B::start(
                take_and_count::<L, B::Counter>,
                (lock.clone(), started.clone(), done.clone()),
            )
        })
        .collect();
    wait_for("every peer to start", || started.get() == PEERS);
    pause();
    assert_eq!(done.get(), 0, "nobody got a held lock");
    drop(held);
    assert_eq!(join_all(peers), [Outcome::Ok; PEERS as usize]);
    assert_eq!(done.get(), PEERS);
    assert!(!lock.locked());
}

fn lock_mutual_exclusion_under_contention<B: Backend>() {
    mutual_exclusion_under_contention::<B, _>(B::lock());
}

fn rlock_mutual_exclusion_under_contention<B: Backend>() {
    mutual_exclusion_under_contention::<B, _>(B::rlock());
}

/// A split read-modify-write is only correct if the lock excludes everyone else.
fn mutual_exclusion_under_contention<B: Backend, L: Lock>(lock: L) {
    const PEERS: u32 = 3;
    const ROUNDS: u32 = if cfg!(miri) { 20 } else { 1_000 };
    let counter = B::counter(0);
    let peers: Vec<_> = (0..PEERS)
        .map(|_| {
            B::start(
                increment_under::<L, B::Counter>,
                (lock.clone(), counter.clone(), ROUNDS),
            )
        })
        .collect();
    join_all(peers);
    assert_eq!(counter.get(), PEERS * ROUNDS);
    assert!(!lock.locked());
}

// Lock only (LockTests): released by anyone, not re-entrant.

fn lock_release_of_an_unlocked_lock_is_not_locked<B: Backend>() {
    let lock = B::lock();
    assert_eq!(lock.release(), Err(Error::NotLocked));
    assert!(!lock.locked(), "a failed release leaves the lock unlocked");
    lock.acquire().unwrap().leak();
    lock.release().unwrap();
    assert_eq!(lock.release(), Err(Error::NotLocked));
    assert!(lock.try_acquire().is_some(), "the lock still works");
}

fn lock_released_by_a_peer<B: Backend>() {
    let lock = B::lock();
    lock.acquire().unwrap().leak();
    assert_eq!(
        B::start(release_it::<B::Lock>, lock.clone()).join(),
        Outcome::Ok
    );
    assert!(!lock.locked());
    assert_eq!(
        B::start(release_it::<B::Lock>, lock.clone()).join(),
        Outcome::NotLocked
    );
}

fn lock_taken_by_a_peer_is_released_here<B: Backend>() {
    let lock = B::lock();
    assert_eq!(
        B::start(take_and_keep::<B::Lock>, lock.clone()).join(),
        Outcome::Ok
    );
    assert!(lock.locked());
    assert!(lock.try_acquire().is_none(), "held by the peer");
    lock.release().unwrap();
    assert!(!lock.locked());
}

fn lock_is_not_reentrant<B: Backend>() {
    let lock = B::lock();
    let _held = lock.acquire().unwrap();
    assert!(
        lock.try_acquire().is_none(),
        "a Lock refuses its own holder"
    );
    assert_eq!(
        lock.acquire_timeout(Duration::from_millis(10)).map(drop),
        Err(Error::Timeout)
    );
    assert!(lock.locked());
}

fn lock_timed_waiters_and_a_blocking_waiter_mix<B: Backend>() {
    // Waiters that give up must not swallow the wake-up meant for a waiter that stays.
    let lock = B::lock();
    lock.acquire().unwrap().leak();
    let quitters: Vec<_> = (0..2)
        .map(|_| B::start(take_within::<B::Lock>, (lock.clone(), 30)))
        .collect();
    let stayer = B::start(take_and_keep::<B::Lock>, lock.clone());
    for (outcome, _) in join_all(quitters) {
        assert_eq!(outcome, Outcome::Timeout);
    }
    lock.release().unwrap();
    assert_eq!(stayer.join(), Outcome::Ok);
    assert!(lock.locked(), "the stayer holds it");
}

// RLock only (RLockTests): owned, re-entrant.

/// Takes the lock three levels deep: the depth each level saw, and whether it was free after.
fn reenter<L: RLock>(lock: L) -> (Vec<u32>, bool, bool) {
    let outer = lock.acquire_timeout(PATIENCE).unwrap();
    let first = lock.depth();
    let middle = lock.acquire().unwrap();
    let inner = lock.try_acquire().expect("the owner may re-enter");
    let deepest = lock.depth();
    let owned = lock.is_owned();
    drop((inner, middle, outer));
    (vec![first, deepest], owned, lock.locked())
}

/// A stranger's view of a lock someone else holds.
fn as_a_stranger<L: RLock>(lock: L) -> (Outcome, bool, bool, Outcome) {
    let released = lock.release().into();
    let owned = lock.is_owned();
    let taken = try_take(lock.clone());
    let waited = lock
        .acquire_timeout(Duration::from_millis(20))
        .map(Guard::leak)
        .into();
    (released, owned, taken, waited)
}

fn rlock_reentered_by_a_peer<B: Backend>() {
    let lock = B::rlock();
    let (depths, owned, locked) = B::start(reenter::<B::RLock>, lock.clone()).join();
    assert_eq!(depths, [1, 3]);
    assert!(owned);
    assert!(!locked, "free once every level is released");
    assert!(!lock.locked());
    assert_eq!(lock.depth(), 0);
}

fn rlock_reentered_here<B: Backend>() {
    let lock = B::rlock();
    for depth in 1..=5 {
        lock.acquire().unwrap().leak();
        assert_eq!(lock.depth(), depth);
    }
    assert!(lock.try_acquire().is_some(), "try_acquire re-enters too");
    assert_eq!(lock.depth(), 5, "the guard gave its level back");
    let timed = lock
        .acquire_timeout(Duration::ZERO)
        .expect("the owner re-enters at once");
    assert_eq!(lock.depth(), 6);
    drop(timed);
    for depth in (0..5).rev() {
        lock.release().unwrap();
        assert_eq!(lock.depth(), depth);
    }
    assert!(!lock.locked());
}

fn rlock_release_unacquired_is_not_owner<B: Backend>() {
    let lock = B::rlock();
    assert_eq!(lock.release(), Err(Error::NotOwner));
    assert!(!lock.locked(), "a failed release leaves the lock free");
    for _ in 0..3 {
        lock.acquire().unwrap().leak();
    }
    for _ in 0..3 {
        assert_eq!(lock.release(), Ok(()));
    }
    assert_eq!(lock.release(), Err(Error::NotOwner));
    assert!(!lock.locked());
    assert_eq!(lock.depth(), 0);
    let guard = lock.try_acquire().expect("the lock still works");
    assert_eq!(lock.depth(), 1);
    drop(guard);
}

fn rlock_is_owned_only_by_its_owner_and_refuses_strangers<B: Backend>() {
    let lock = B::rlock();
    assert!(!lock.is_owned());
    lock.acquire().unwrap().leak();
    lock.acquire().unwrap().leak();
    assert!(lock.is_owned());
    let (released, owned, taken, waited) = B::start(as_a_stranger::<B::RLock>, lock.clone()).join();
    assert_eq!(released, Outcome::NotOwner, "a stranger may not release it");
    assert!(!owned, "the stranger does not own it");
    assert!(!taken, "nor take it");
    assert_eq!(waited, Outcome::Timeout, "nor wait it out");
    assert!(lock.is_owned());
    assert_eq!(lock.depth(), 2, "the stranger changed nothing");
    lock.release().unwrap();
    lock.release().unwrap();
    assert!(!lock.locked());
}

fn rlock_held_by_a_peer_until_it_returns<B: Backend>() {
    // The peer takes it twice and releases twice before returning: free again, for anyone.
    let lock = B::rlock();
    let (depths, _, _) = B::start(reenter::<B::RLock>, lock.clone()).join();
    assert_eq!(depths, [1, 3]);
    let guard = lock.try_acquire().expect("free after the peer");
    assert!(lock.is_owned());
    drop(guard);
    assert!(!lock.is_owned());
}

every_backend! {
    lock_acquire_then_release,
    rlock_acquire_then_release,
    lock_try_acquire_refused_in_a_peer,
    rlock_try_acquire_refused_in_a_peer,
    lock_acquire_timeout_in_a_peer_times_out,
    rlock_acquire_timeout_in_a_peer_times_out,
    lock_acquire_timeout_succeeds_when_released_in_time,
    lock_zero_timeout_behaves_like_try,
    lock_acquire_contended_wakes_every_waiter,
    rlock_acquire_contended_wakes_every_waiter,
    lock_mutual_exclusion_under_contention,
    rlock_mutual_exclusion_under_contention,
    lock_release_of_an_unlocked_lock_is_not_locked,
    lock_released_by_a_peer,
    lock_taken_by_a_peer_is_released_here,
    lock_is_not_reentrant,
    lock_timed_waiters_and_a_blocking_waiter_mix,
    rlock_reentered_by_a_peer,
    rlock_reentered_here,
    rlock_release_unacquired_is_not_owner,
    rlock_is_owned_only_by_its_owner_and_refuses_strangers,
    rlock_held_by_a_peer_until_it_returns,
}

//! loom models of amphi's state machines: every interleaving of two or three threads over the
//! primitives' words, with the futex emulated by the `sys` loom backend (timed waits explore
//! both "woken" and "timed out"). Beyond the primitives: the thread queues (put, get and close
//! over the slot ring and the list store, with the sleepers' counts and sequence words) and the
//! thread pipe's end of file. The barrier models also cover `RawOwnedLock`, the lock whose
//! word holds its holder's id (the process family's `Lock` and the internal lock of both
//! families' barriers), which the thread barrier runs over with one constant id.
//!
//! The queue and pipe models run under a preemption bound of 2 (their protocols take more
//! steps than a lock's), the others under 3, so the whole file runs in a few minutes.
//!
//! Run with `RUSTFLAGS="--cfg amphi_loom" cargo test --release --test loom` (scripts/test.sh
//! does, in its own target folder).

#![cfg(amphi_loom)]

use std::time::Duration;

use amphi::{
    Barrier, Condition, Error, Event, GetError, Lock, PutError, Queue, RLock, RecvError, Semaphore,
};
use loom::sync::atomic::{AtomicU32, Ordering};
use loom::sync::Arc;
use loom::thread;

fn model(body: impl Fn() + Sync + Send + 'static) {
    model_bounded(3, body);
}

/// The preemption bound of the queue and pipe models.
const QUEUE_BOUND: usize = 3;

/// A model whose threads are preempted at most `bound` times per execution.
fn model_bounded(bound: usize, body: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(bound);
    builder.check(body);
}

#[test]
fn lock_excludes_and_wakes() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let counter = Arc::new(AtomicU32::new(0));
        let other = {
            let (lock, counter) = (lock.clone(), counter.clone());
            thread::spawn(move || {
                let _held = lock.acquire().unwrap();
                let seen = counter.load(Ordering::Relaxed);
                counter.store(seen + 1, Ordering::Relaxed);
            })
        };
        {
            let _held = lock.acquire().unwrap();
            let seen = counter.load(Ordering::Relaxed);
            counter.store(seen + 1, Ordering::Relaxed);
        }
        other.join().unwrap();
        assert_eq!(counter.load(Ordering::Relaxed), 2);
        assert!(!lock.locked());
    });
}

#[test]
fn lock_three_contenders_never_lose_a_wake_up() {
    model(|| {
        let lock = Arc::new(Lock::new());
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let lock = lock.clone();
                thread::spawn(move || drop(lock.acquire().unwrap()))
            })
            .collect();
        drop(lock.acquire().unwrap());
        for thread in threads {
            thread.join().unwrap();
        }
        assert!(!lock.locked());
    });
}

#[test]
fn lock_timed_waiter_and_release_race() {
    model(|| {
        let lock = Arc::new(Lock::new());
        lock.acquire().unwrap().leak();
        let waiter = {
            let lock = lock.clone();
            thread::spawn(move || {
                lock.acquire_timeout(Duration::from_millis(1))
                    .map(|g| g.leak())
            })
        };
        lock.release().unwrap();
        match waiter.join().unwrap() {
            Ok(()) => assert!(lock.locked(), "the waiter holds it"),
            Err(error) => {
                assert_eq!(error, Error::Timeout);
                assert!(
                    lock.try_acquire().is_some(),
                    "a timed-out waiter leaves it free"
                );
            }
        }
    });
}

#[test]
fn semaphore_never_over_admits() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let inside = Arc::new(AtomicU32::new(0));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (sem, inside) = (sem.clone(), inside.clone());
                thread::spawn(move || {
                    let _permit = sem.acquire().unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0);
                    inside.fetch_sub(1, Ordering::SeqCst);
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        assert_eq!(sem.value(), 1);
    });
}

#[test]
fn semaphore_release_wakes_a_sleeper() {
    model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let taker = {
            let sem = sem.clone();
            thread::spawn(move || sem.acquire().unwrap().leak())
        };
        sem.release(1).unwrap();
        taker.join().unwrap();
        assert_eq!(sem.value(), 0);
    });
}

#[test]
fn event_set_is_never_missed() {
    model(|| {
        let event = Arc::new(Event::new());
        let waiter = {
            let event = event.clone();
            thread::spawn(move || event.wait().unwrap())
        };
        event.set();
        waiter.join().unwrap();
        assert!(event.is_set());
    });
}

#[test]
fn rlock_hands_over_between_threads() {
    model(|| {
        let lock = Arc::new(RLock::new());
        let other = {
            let lock = lock.clone();
            thread::spawn(move || {
                let _outer = lock.acquire().unwrap();
                let _inner = lock.acquire().unwrap();
                assert_eq!(lock.depth(), 2);
            })
        };
        {
            let _held = lock.acquire().unwrap();
            assert!(lock.is_owned());
        }
        other.join().unwrap();
        assert!(!lock.locked());
    });
}

#[test]
fn condition_notify_reaches_a_waiter_or_the_predicate_holds() {
    model(|| {
        let cond = Arc::new(Condition::new());
        let ready = Arc::new(AtomicU32::new(0));
        let waiter = {
            let (cond, ready) = (cond.clone(), ready.clone());
            thread::spawn(move || {
                let _held = cond.acquire().unwrap();
                cond.wait_for(|| ready.load(Ordering::Relaxed) == 1)
                    .unwrap();
            })
        };
        {
            let _held = cond.acquire().unwrap();
            ready.store(1, Ordering::Relaxed);
            cond.notify_all().unwrap();
        }
        waiter.join().unwrap();
    });
}

#[test]
fn condition_timed_wait_and_notify_never_lose_a_notification() {
    model(|| {
        let cond = Arc::new(Condition::new());
        let waiter = {
            let cond = cond.clone();
            thread::spawn(move || {
                let _held = cond.acquire().unwrap();
                cond.wait_timeout(Duration::from_millis(1))
            })
        };
        let woken = {
            let _held = cond.acquire().unwrap();
            cond.notify(1).unwrap()
        };
        let outcome = waiter.join().unwrap();
        // A waiter the notify chose returns notified, even if its timeout passed meanwhile;
        // one it did not choose had timed out (or had not started waiting).
        assert_eq!(outcome.is_ok(), woken == 1);
        if let Err(error) = outcome {
            assert_eq!(error, Error::Timeout);
        }
        assert_eq!(cond.waiting(), 0);
        assert!(!cond.lock().locked());
    });
}

#[test]
fn barrier_of_two_releases_both_with_distinct_indices() {
    model(|| {
        let barrier = Arc::new(Barrier::new(2).unwrap());
        let other = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait().unwrap())
        };
        let mine = barrier.wait().unwrap();
        let theirs = other.join().unwrap();
        assert_ne!(mine, theirs);
        assert!(mine < 2 && theirs < 2);
    });
}

/// The barrier's internal lock is a `RawOwnedLock` (its holder's id in the word, with a
/// sleepers bit): three parties contend for it, sleep on it and on the round's `changed` word.
#[test]
fn barrier_of_three_contending_for_its_lock_releases_all() {
    model_bounded(2, || {
        let barrier = Arc::new(Barrier::new(3).unwrap());
        let others: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                thread::spawn(move || barrier.wait().unwrap())
            })
            .collect();
        let mut indices = vec![barrier.wait().unwrap()];
        indices.extend(others.into_iter().map(|other| other.join().unwrap()));
        indices.sort_unstable();
        assert_eq!(indices, [0, 1, 2]);
        assert!(!barrier.broken());
    });
}

/// A timed wait racing the last arrival: either both pass, or the timeout broke the round and
/// both see it broken; never one of each, never a hang.
#[test]
fn barrier_timed_wait_and_arrival_agree() {
    model(|| {
        let barrier = Arc::new(Barrier::new(2).unwrap());
        let timed = {
            let barrier = barrier.clone();
            thread::spawn(move || barrier.wait_timeout(Duration::from_millis(1)))
        };
        let mine = barrier.wait();
        let theirs = timed.join().unwrap();
        assert_eq!(mine.is_ok(), theirs.is_ok(), "{mine:?} {theirs:?}");
        match (mine, theirs) {
            (Ok(mine), Ok(theirs)) => assert_ne!(mine, theirs),
            (mine, theirs) => {
                assert_eq!(mine, Err(Error::BrokenBarrier));
                assert_eq!(theirs, Err(Error::BrokenBarrier));
                assert!(barrier.broken());
            }
        }
    });
}

/// Two rounds back to back: a party that passed the first may come back while the other is
/// still draining it, and waits (on the round's `changed` word) until the next round opens.
#[test]
fn barrier_second_round_waits_for_the_first_to_drain() {
    model_bounded(2, || {
        let barrier = Arc::new(Barrier::new(2).unwrap());
        let other = {
            let barrier = barrier.clone();
            thread::spawn(move || {
                let first = barrier.wait().unwrap();
                let second = barrier.wait().unwrap();
                (first, second)
            })
        };
        let first = barrier.wait().unwrap();
        let second = barrier.wait().unwrap();
        let (their_first, their_second) = other.join().unwrap();
        assert_ne!(first, their_first);
        assert_ne!(second, their_second);
    });
}

/// The two stores: a bounded queue (the slot ring, `flavour` 0) or an unbounded one (the list
/// store).
fn queue_of(flavour: usize) -> Queue<u32> {
    if flavour == 0 {
        Queue::bounded(1)
    } else {
        Queue::unbounded()
    }
}

#[test]
fn queue_put_racing_close_delivers_or_hands_back() {
    for flavour in 0..2 {
        model_bounded(QUEUE_BOUND, move || {
            let queue = Arc::new(queue_of(flavour));
            let putter = {
                let queue = queue.clone();
                thread::spawn(move || queue.put(7))
            };
            queue.close();
            match putter.join().unwrap() {
                Ok(()) => {
                    assert_eq!(
                        queue.get(),
                        Ok(7),
                        "a delivered item is still got after close"
                    );
                }
                Err(PutError::Closed(item)) => assert_eq!(item, 7, "the item comes back"),
                Err(other) => panic!("a put racing close: {other:?}"),
            }
            assert_eq!(queue.get(), Err(GetError::Closed));
            assert!(matches!(queue.try_put(8), Err(PutError::Closed(8))));
        });
    }
}

#[test]
fn queue_getter_asleep_is_woken_by_a_put() {
    for flavour in 0..2 {
        model_bounded(QUEUE_BOUND, move || {
            let queue = Arc::new(queue_of(flavour));
            let getter = {
                let queue = queue.clone();
                thread::spawn(move || queue.get())
            };
            queue.put(1).unwrap();
            assert_eq!(getter.join().unwrap(), Ok(1));
            assert!(queue.empty());
        });
    }
}

#[test]
fn queue_getter_asleep_is_woken_by_close() {
    for flavour in 0..2 {
        model_bounded(QUEUE_BOUND, move || {
            let queue = Arc::new(queue_of(flavour));
            let getter = {
                let queue = queue.clone();
                thread::spawn(move || queue.get())
            };
            queue.close();
            assert_eq!(getter.join().unwrap(), Err(GetError::Closed));
        });
    }
}

#[test]
fn queue_putter_asleep_on_a_full_queue_is_woken_by_a_get() {
    model_bounded(QUEUE_BOUND, || {
        let queue = Arc::new(Queue::bounded(1));
        queue.put(1).unwrap();
        let putter = {
            let queue = queue.clone();
            thread::spawn(move || queue.put(2))
        };
        assert_eq!(queue.get(), Ok(1));
        assert_eq!(queue.get(), Ok(2), "FIFO, and the putter got in");
        assert_eq!(putter.join().unwrap(), Ok(()));
    });
}

#[test]
fn pipe_receiver_sees_every_message_then_eof() {
    model_bounded(QUEUE_BOUND, || {
        let (receiver, sender) = amphi::Pipe::new::<u32>(false);
        let sending = thread::spawn(move || {
            sender.send(1).unwrap();
            sender.send(2).unwrap();
            drop(sender);
        });
        assert_eq!(receiver.recv(), Ok(1));
        assert_eq!(receiver.recv(), Ok(2));
        assert_eq!(receiver.recv(), Err(RecvError::Eof));
        sending.join().unwrap();
    });
}

//! Conformance of [`amphi::Event`] with Python's `threading.Event`, after CPython's
//! `Lib/test/lock_tests.py` (`EventTests`): the flag, waking every waiter, timed waits, and
//! the async wait, on native threads and, through `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::time::Instant;
use amphi::{thread, Error, Event, Thread};
use common::{assert_waited_at_least, wait_for};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// CPython's `_check_notify`: five threads wait twice each; one `set` releases every wait.
fn check_notify(event: &Arc<Event>) {
    const WAITERS: u32 = 5;
    let started = Arc::new(AtomicU32::new(0));
    let first = Arc::new(AtomicU32::new(0));
    let second = Arc::new(AtomicU32::new(0));
    let waiters: Vec<_> = (0..WAITERS)
        .map(|_| {
            let (event, started, first, second) = (
                event.clone(),
                started.clone(),
                first.clone(),
                second.clone(),
            );
            Thread::spawn(move || {
                started.fetch_add(1, Ordering::SeqCst);
                event.wait().unwrap();
                first.fetch_add(1, Ordering::SeqCst);
                event.wait().unwrap();
                second.fetch_add(1, Ordering::SeqCst);
            })
            .unwrap()
        })
        .collect();
    wait_for("the waiters to start", || {
        started.load(Ordering::SeqCst) == WAITERS
    });
    thread::sleep(Duration::from_millis(20)).unwrap();
    assert_eq!(
        first.load(Ordering::SeqCst),
        0,
        "nobody passes an unset event"
    );
    event.set();
    for waiter in waiters {
        waiter.join().unwrap();
    }
    assert_eq!(first.load(Ordering::SeqCst), WAITERS);
    assert_eq!(second.load(Ordering::SeqCst), WAITERS);
}

conformance! {
    fn is_set_set_and_clear() {
        // CPython's test_is_set.
        let event = Event::new();
        assert!(!event.is_set());
        event.set();
        assert!(event.is_set());
        event.set();
        assert!(event.is_set(), "setting twice keeps it set");
        event.clear();
        assert!(!event.is_set());
        event.clear();
        assert!(!event.is_set(), "clearing twice keeps it clear");
        assert!(!Event::default().is_set());
    }

    fn debug_shows_the_flag() {
        let event = Event::new();
        assert_eq!(format!("{event:?}"), "Event { set: false }");
        event.set();
        assert_eq!(format!("{event:?}"), "Event { set: true }");
    }

    fn wait_on_a_set_event_returns_at_once() {
        let event = Event::new();
        event.set();
        assert_eq!(event.wait(), Ok(()));
        assert_eq!(event.wait(), Ok(()), "waiting does not consume the flag");
        assert_eq!(event.wait_timeout(Duration::ZERO), Ok(()));
        assert_eq!(event.wait_timeout(Duration::from_secs(10)), Ok(()));
        assert!(event.is_set());
    }

    fn set_wakes_every_waiter() {
        // CPython's test_notify: once, then again after set and clear.
        let event = Arc::new(Event::new());
        check_notify(&event);
        event.set();
        event.clear();
        check_notify(&event);
    }

    fn wait_timeout_on_an_unset_event_times_out() {
        // CPython's test_timeout, first half: five threads, each times out twice.
        let event = Arc::new(Event::new());
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let event = event.clone();
                Thread::spawn(move || {
                    let at_once = event.wait_timeout(Duration::ZERO);
                    let start = Instant::now();
                    let timed = event.wait_timeout(Duration::from_millis(100));
                    (at_once, timed, start.elapsed())
                })
                .unwrap()
            })
            .collect();
        for waiter in waiters {
            let (at_once, timed, elapsed) = waiter.join().unwrap();
            assert_eq!(at_once, Err(Error::Timeout));
            assert_eq!(timed, Err(Error::Timeout));
            assert_waited_at_least(elapsed, Duration::from_millis(100));
        }
        assert!(!event.is_set());
    }

    fn wait_timeout_on_a_set_event_succeeds() {
        // CPython's test_timeout, second half.
        let event = Arc::new(Event::new());
        event.set();
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let event = event.clone();
                Thread::spawn(move || {
                    (event.wait_timeout(Duration::ZERO), event.wait_timeout(Duration::from_millis(100)))
                })
                .unwrap()
            })
            .collect();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), (Ok(()), Ok(())));
        }
    }

    fn wait_timeout_succeeds_when_set_in_time() {
        let event = Arc::new(Event::new());
        let setter = {
            let event = event.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                event.set();
            })
            .unwrap()
        };
        assert_eq!(event.wait_timeout(Duration::from_secs(10)), Ok(()));
        assert!(event.is_set());
        setter.join().unwrap();
    }

    fn set_then_clear_then_wait_timeout_times_out() {
        let event = Event::new();
        event.set();
        event.clear();
        let start = Instant::now();
        assert_eq!(event.wait_timeout(Duration::from_millis(100)), Err(Error::Timeout));
        assert_waited_at_least(start.elapsed(), Duration::from_millis(100));
        assert!(!event.is_set());
    }

    fn a_setter_thread_wakes_a_blocked_waiter() {
        let event = Arc::new(Event::new());
        let woken = Arc::new(AtomicU32::new(0));
        let waiter = {
            let (event, woken) = (event.clone(), woken.clone());
            Thread::spawn(move || {
                let outcome = event.wait();
                woken.store(1, Ordering::SeqCst);
                outcome
            })
            .unwrap()
        };
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(woken.load(Ordering::SeqCst), 0, "the waiter sleeps until the flag is set");
        let setter = {
            let event = event.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                event.set();
            })
            .unwrap()
        };
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert_eq!(woken.load(Ordering::SeqCst), 1);
        setter.join().unwrap();
    }

    fn what_the_setter_wrote_is_visible_to_the_waiters() {
        // The event publishes the setter's writes: each round a setter thread writes a value,
        // then sets the event; the waiter must read that value once its wait returns.
        const ROUNDS: u64 = if cfg!(miri) { 3 } else { 50 };
        let data = Arc::new(AtomicU64::new(0));
        for round in 1..=ROUNDS {
            let event = Arc::new(Event::new());
            let setter = {
                let (event, data) = (event.clone(), data.clone());
                Thread::spawn(move || {
                    data.store(round, Ordering::Relaxed);
                    event.set();
                })
                .unwrap()
            };
            event.wait().unwrap();
            assert_eq!(data.load(Ordering::Relaxed), round);
            setter.join().unwrap();
        }
    }
}

conformance_async! {
    async fn wait_async_on_a_set_event_is_immediate() {
        let event = Event::new();
        event.set();
        event.wait_async().await;
        event.wait_async().await;
        assert!(event.is_set());
    }

    async fn wait_async_waits_for_a_set() {
        let event = Arc::new(Event::new());
        let setter = {
            let event = event.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                event.set();
            })
            .unwrap()
        };
        event.wait_async().await;
        assert!(event.is_set(), "the wait returns only once the flag is set");
        setter.join_async().await.unwrap();
        // Cleared again, a second wait waits for the next set.
        event.clear();
        let setter = {
            let event = event.clone();
            Thread::spawn(move || {
                thread::sleep(Duration::from_millis(20)).unwrap();
                event.set();
            })
            .unwrap()
        };
        event.wait_async().await;
        assert!(event.is_set());
        setter.join_async().await.unwrap();
    }
}

conformance! {
    fn a_waiter_present_at_set_succeeds_even_if_clear_follows_at_once() {
        // CPython's EventTests.test_set_and_clear (bpo-13502).
        let event = Arc::new(Event::new());
        let waiting = Arc::new(AtomicU32::new(0));
        let waiters: Vec<_> = (0..5)
            .map(|_| {
                let (event, waiting) = (event.clone(), waiting.clone());
                Thread::spawn(move || {
                    waiting.fetch_add(1, Ordering::SeqCst);
                    event.wait_timeout(Duration::from_secs(10))
                })
                .unwrap()
            })
            .collect();
        wait_for("five waiters", || {
            waiting.load(Ordering::SeqCst) == 5
        });
        thread::sleep(Duration::from_millis(50)).unwrap();
        event.set();
        event.clear();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), Ok(()));
        }
    }
}

//! Conformance of [`amphi::Event`] with Python's `threading.Event`, after CPython's
//! `Lib/test/lock_tests.py` (`EventTests`): the flag, waking every waiter, timed waits, and
//! the async wait, on native threads and, through `wasm-pack test`, on Web Workers.

#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use amphi::{thread, Event, Thread};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

conformance! {

    fn debug_shows_the_flag() {
        let event = Event::new();
        assert_eq!(format!("{event:?}"), "Event { set: false }");
        event.set();
        assert_eq!(format!("{event:?}"), "Event { set: true }");
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

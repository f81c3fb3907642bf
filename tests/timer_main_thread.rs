//! [`Timer`] from the browser's main thread: started, cancelled and joined (`join_async`)
//! there, where nothing may block. Natively the same calls run on the test thread.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::thread::Timer;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

async fn cancel_from_this_thread_prevents_the_run() {
    let fired = Arc::new(AtomicU32::new(0));
    let timer = {
        let fired = Arc::clone(&fired);
        Timer::new(Duration::from_secs(60), move || {
            fired.fetch_add(1, Ordering::SeqCst);
        })
    };
    timer.start().expect("start a timer");
    timer.cancel();
    assert_eq!(timer.join_async().await, Ok(false));
    assert_eq!(fired.load(Ordering::SeqCst), 0);
}

async fn a_timer_started_here_fires() {
    let fired = Arc::new(AtomicU32::new(0));
    let timer = {
        let fired = Arc::clone(&fired);
        Timer::new(Duration::from_millis(10), move || {
            fired.fetch_add(1, Ordering::SeqCst);
        })
    };
    timer.start().expect("start a timer");
    assert_eq!(timer.join_async().await, Ok(true));
    assert_eq!(fired.load(Ordering::SeqCst), 1);
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    async fn cancel_from_the_main_thread_prevents_the_run() {
        super::cancel_from_this_thread_prevents_the_run().await;
    }

    #[wasm_bindgen_test]
    async fn a_timer_started_on_the_main_thread_fires() {
        super::a_timer_started_here_fires().await;
    }

    #[wasm_bindgen_test]
    async fn the_page_is_the_main_thread_and_a_blocking_join_is_refused_there() {
        assert_eq!(
            amphi::thread::current_thread(),
            amphi::thread::main_thread()
        );
        assert_eq!(amphi::thread::get_native_id(), 1);
        let timer = super::Timer::new(super::Duration::ZERO, || ());
        timer.start().expect("start a timer");
        assert_eq!(timer.join(), Err(amphi::Error::WouldBlock));
        assert_eq!(timer.join_async().await, Ok(true));
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn cancel_from_the_test_thread_prevents_the_run() {
    futures_executor::block_on(cancel_from_this_thread_prevents_the_run());
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_timer_started_on_the_test_thread_fires() {
    futures_executor::block_on(a_timer_started_here_fires());
}

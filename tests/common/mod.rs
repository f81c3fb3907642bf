//! Shared support for the conformance suites, which are written once and run on two targets.
//!
//! `conformance! { fn name() { body } ... }` turns each body into a test:
//! - natively, a plain `#[test]` running the body on the test thread;
//! - in the browser, an async `#[wasm_bindgen_test]` that runs the body on an amphi thread (a
//!   pooled Web Worker) and awaits it. The test runner's own worker stays free to create the
//!   workers the body asks for, as the page's main thread does in an application.
//!
//! Timing assertions are tolerances only (a timed wait of T takes at least 0.6 T, as in
//! CPython's `lock_tests.py`); no test asserts an upper bound on time.
//!
//! Async bodies use `conformance_async!` instead (see there).

#![allow(dead_code)]

pub(crate) mod pool;

use std::time::Duration;

/// How long a test waits for a child process before it gives up.
pub(crate) const PATIENCE: Duration = Duration::from_secs(120);

/// Starts every child, then joins each (within [`PATIENCE`]); their results, in order.
pub(crate) fn start_and_join_all<R>(children: &[amphi::process::Process<R>]) -> Vec<R>
where
    R: serde::Serialize + serde::de::DeserializeOwned,
{
    for child in children {
        child.start().expect("start a child");
    }
    children
        .iter()
        .map(|child| child.join_timeout(PATIENCE).expect("join a child"))
        .collect()
}

/// Runs `body` on an amphi thread and waits for it without blocking the calling thread.
pub(crate) async fn on_amphi_thread<F: FnOnce() + Send + 'static>(body: F) {
    let thread = amphi::thread::Builder::new()
        .name("conformance")
        .spawn(body)
        .expect("spawn the test's thread");
    if let Err(error) = thread.join_async().await {
        panic!("the test body failed: {error}");
    }
}

/// CPython's tolerance for timed waits: a wait of `timeout` must last at least 0.6 of it.
pub(crate) fn assert_waited_at_least(elapsed: Duration, timeout: Duration) {
    assert!(
        elapsed >= timeout.mul_f64(0.6),
        "a wait of {timeout:?} returned after only {elapsed:?}"
    );
}

/// Waits until `done()` holds, polling, for at most 10 s (then panics with `what`).
pub(crate) fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = 10_000;
    for _ in 0..deadline {
        if done() {
            return;
        }
        amphi::thread::sleep(Duration::from_millis(1)).expect("test threads may block");
    }
    panic!("timed out after 10 s waiting for {what}");
}

/// Defines each `fn` as a conformance test on both targets (see the module docs).
macro_rules! conformance {
    ($($(#[$meta:meta])* fn $name:ident() $body:block)*) => {$(
        $(#[$meta])*
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() $body

        $(#[$meta])*
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() {
            crate::common::on_amphi_thread(|| $body).await
        }
    )*};
}

/// Defines each `async fn` as a test on both targets: natively driven by a simple executor on
/// the test thread; in the browser awaited by the test runner's worker (so `Atomics.waitAsync`
/// promises can settle).
macro_rules! conformance_async {
    ($($(#[$meta:meta])* async fn $name:ident() $body:block)*) => {$(
        $(#[$meta])*
        #[cfg(not(target_arch = "wasm32"))]
        #[test]
        fn $name() {
            futures_executor::block_on(async $body)
        }

        $(#[$meta])*
        #[cfg(target_arch = "wasm32")]
        #[wasm_bindgen_test::wasm_bindgen_test]
        async fn $name() $body
    )*};
}

/// Polls `future` once, with a waker that does nothing: to see a future pending, then drop it.
pub(crate) fn poll_once<F: std::future::Future>(
    future: std::pin::Pin<&mut F>,
) -> std::task::Poll<F::Output> {
    future.poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
}

/// Sleeps without blocking the event loop in the browser (a timer), or the thread natively
/// (where the async tests run on a simple executor).
pub(crate) async fn nap(duration: Duration) {
    #[cfg(not(target_arch = "wasm32"))]
    amphi::thread::sleep(duration).expect("native threads may block");
    #[cfg(target_arch = "wasm32")]
    {
        let millis = duration.as_millis() as i32;
        let timer = js_sys::Promise::new(&mut |resolve, _reject| {
            let global = js_sys::global();
            let set_timeout: js_sys::Function = js_sys::Reflect::get(&global, &"setTimeout".into())
                .expect("setTimeout")
                .into();
            set_timeout
                .call2(&global, &resolve, &millis.into())
                .expect("setTimeout");
        });
        let _ = wasm_bindgen_futures::JsFuture::from(timer).await;
    }
}

/// The length of [`big_text`]: 16 MiB, the large message.
pub(crate) const BIG: usize = 16 << 20;

/// A 16 MiB string of varied characters, for messages longer than any ring or buffer.
pub(crate) fn big_text() -> String {
    "abcdefghijklmnopqrstuvwxyz0123456789-_"
        .repeat(BIG / 38 + 1)
        .split_at(BIG)
        .0
        .to_owned()
}

/// How many trials a random-kill test runs: `AMPHI_KILL_TRIALS` natively when set (the kill
/// script raises it), else `native`; `browser` in the browser, where each trial starts a
/// process worker and costs far more.
pub(crate) fn kill_trials(native: u32, browser: u32) -> u32 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = browser;
        std::env::var("AMPHI_KILL_TRIALS")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or(native)
    }
    #[cfg(target_arch = "wasm32")]
    {
        let _ = native;
        browser
    }
}

/// The pseudo-random instants of a random-kill test: xorshift64*, replayable from its seed,
/// which is `AMPHI_KILL_SEED` natively when set, else taken from the clock and `salt` (a test's
/// name, so that tests started at once differ). Print [`KillRng::seed`] with a failure.
pub(crate) struct KillRng {
    seed: u64,
    state: u64,
}

impl KillRng {
    pub(crate) fn new(salt: &str) -> KillRng {
        let seed = Self::chosen_seed().unwrap_or_else(|| {
            use std::hash::{Hash, Hasher};
            let mut hasher = std::collections::hash_map::DefaultHasher::new();
            (amphi::time::Instant::now(), salt).hash(&mut hasher);
            hasher.finish()
        }) | 1;
        KillRng { seed, state: seed }
    }

    /// `AMPHI_KILL_SEED`, natively when set.
    #[cfg(not(target_arch = "wasm32"))]
    fn chosen_seed() -> Option<u64> {
        std::env::var("AMPHI_KILL_SEED")
            .ok()
            .and_then(|text| text.parse().ok())
    }

    /// No environment in the browser.
    #[cfg(target_arch = "wasm32")]
    fn chosen_seed() -> Option<u64> {
        None
    }

    /// The seed this sequence started from (`AMPHI_KILL_SEED` replays it).
    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    /// The next number in `0..bound`.
    pub(crate) fn below(&mut self, bound: u64) -> u64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) % bound
    }
}

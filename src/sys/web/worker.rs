//! Threads as Web Workers that share this module's `WebAssembly.Memory`.
//!
//! `spawn` parks the closure in a registry under a fresh id and starts a module worker from
//! `worker.js` (found next to the generated glue through `new URL(.., import.meta.url)`, which
//! bundlers understand, or at a URL set with `setWorkerUrl`). The worker imports this module's
//! main script, instantiates the shared module on the shared memory, and calls
//! `__amphi_worker_run(id)`. JS passes only that id: Rust looks it up and refuses unknown ids,
//! so no pointer from JS is ever trusted.
//!
//! Losing a worker never hangs its joiner. A trap (a panic under `panic=abort`, an out-of-memory)
//! is caught by `worker.js`, which calls `__amphi_worker_lost(id, reason)`. A worker that cannot
//! even load the module marks the thread's exit word `THREAD_LOST` through `Atomics` and
//! notifies it, so a blocked joiner wakes without the parent's event loop.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use wasm_bindgen::prelude::*;

use crate::sys::{ThreadWatch, THREAD_LOST, THREAD_RUNNING};

#[wasm_bindgen(module = "/src/sys/web/worker.js")]
extern "C" {
    #[wasm_bindgen(js_name = startWorker, catch)]
    fn start_worker(
        name: &str,
        module: JsValue,
        memory: JsValue,
        main_url: &str,
        id: u32,
        exit_word: u32,
    ) -> Result<(), JsValue>;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(thread_local_v2, js_namespace = ["import", "meta"], js_name = url)]
    static MAIN_URL: String;
    #[wasm_bindgen(thread_local_v2, js_name = crossOriginIsolated)]
    static CROSS_ORIGIN_ISOLATED: JsValue;
}

struct Pending {
    body: Option<Box<dyn FnOnce() + Send>>,
    watch: Arc<dyn ThreadWatch>,
}

static NEXT_ID: AtomicU32 = AtomicU32::new(1);
static REGISTRY: Mutex<Option<HashMap<u32, Pending>>> = Mutex::new(None);

/// Locks the registry by spinning: the page's main thread may not sleep on a contended mutex,
/// and the critical sections are a map insert or remove.
fn registry() -> MutexGuard<'static, Option<HashMap<u32, Pending>>> {
    loop {
        match REGISTRY.try_lock() {
            Ok(guard) => return guard,
            Err(std::sync::TryLockError::Poisoned(poison)) => return poison.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
}

/// Starts a worker named `name` that runs `body`; `watch` learns if the worker is lost.
pub(crate) fn spawn(
    name: &str,
    body: Box<dyn FnOnce() + Send>,
    watch: Arc<dyn ThreadWatch>,
) -> Result<(), String> {
    if !CROSS_ORIGIN_ISOLATED.with(JsValue::is_truthy) {
        return Err(NOT_ISOLATED.to_owned());
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let exit_word = watch.exit_word().as_ptr() as u32;
    let pending = Pending {
        body: Some(body),
        watch,
    };
    registry().get_or_insert_with(HashMap::new).insert(id, pending);
    let main_url = MAIN_URL.with(String::clone);
    let started = start_worker(
        name,
        wasm_bindgen::module(),
        wasm_bindgen::memory(),
        &main_url,
        id,
        exit_word,
    );
    started.map_err(|err| {
        take(id);
        format!("could not start a Web Worker: {}", describe(&err))
    })
}

const NOT_ISOLATED: &str = "this page is not cross-origin isolated, so Web Workers cannot share \
memory: serve it with the headers `Cross-Origin-Opener-Policy: same-origin` and \
`Cross-Origin-Embedder-Policy: require-corp` (then `crossOriginIsolated` is true)";

fn take(id: u32) -> Option<Pending> {
    registry().as_mut().and_then(|map| map.remove(&id))
}

fn describe(err: &JsValue) -> String {
    err.as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{err:?}"))
}

/// Worker entry: runs the closure registered under `id`. Unknown ids are refused.
#[doc(hidden)]
#[wasm_bindgen(js_name = __amphi_worker_run)]
pub fn worker_run(id: u32) -> Result<(), JsValue> {
    let body = {
        let mut guard = registry();
        let pending = guard
            .as_mut()
            .and_then(|map| map.get_mut(&id))
            .ok_or_else(|| JsValue::from_str("amphi: unknown worker id"))?;
        pending.body.take()
    };
    let body = body.ok_or_else(|| JsValue::from_str("amphi: worker id already started"))?;
    body();
    take(id);
    Ok(())
}

/// Reports a lost worker (a trap inside it, or a load error seen by its parent) to whoever
/// waits on it. The entry stays registered, so a late report from the other side still finds
/// a live exit word; a finished thread's id is unknown and ignored.
#[doc(hidden)]
#[wasm_bindgen(js_name = __amphi_worker_lost)]
pub fn worker_lost(id: u32, reason: String) {
    let watch = registry()
        .as_ref()
        .and_then(|map| map.get(&id))
        .map(|pending| Arc::clone(&pending.watch));
    if let Some(watch) = watch {
        // Record the reason before publishing LOST, so a woken joiner finds it.
        watch.lost(reason);
        let word = watch.exit_word();
        let _ = word.compare_exchange(
            THREAD_RUNNING,
            THREAD_LOST,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
        super::wake_all(word);
    }
}

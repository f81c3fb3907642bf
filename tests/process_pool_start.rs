//! A process pool whose workers cannot all start fails to build with a clear error, and stops
//! the workers it had started: here the shared region is made too small for more than a few
//! workers' pipes, so a pool of 12 fails partway. Its own test binary, because the region's
//! size is set before anything uses it.

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::time::Duration;

use amphi::process::{active_children, set_shared_memory_size, Pool};
use amphi::Error;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// The smallest region allowed: room for the pipes of a handful of workers only.
const REGION: usize = 1 << 20;

fn same(n: u32) -> u32 {
    n
}

fn a_worker_that_cannot_start_fails_the_build_and_stops_the_others() {
    match Pool::new(12) {
        Err(Error::SharedMemory(reason)) => assert!(!reason.is_empty()),
        Err(other) => panic!("expected SharedMemory, got {other:?}"),
        Ok(_) => panic!("12 workers' pipes do not fit in {REGION} bytes"),
    }
    common::wait_for("the started workers to be stopped", || {
        active_children().is_empty()
    });
    let pool = Pool::new(2).expect("the memory of the stopped workers was released");
    assert_eq!(
        pool.map(0..10u32, same).unwrap(),
        (0..10).collect::<Vec<_>>()
    );
    pool.close();
    pool.join_timeout(Duration::from_secs(120)).unwrap();
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn a_worker_that_cannot_start() {
    set_shared_memory_size(REGION).expect("no region yet");
    a_worker_that_cannot_start_fails_the_build_and_stops_the_others();
}

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen_test::wasm_bindgen_test]
async fn a_worker_that_cannot_start() {
    set_shared_memory_size(REGION).expect("no region yet");
    common::on_amphi_thread(a_worker_that_cannot_start_fails_the_build_and_stops_the_others).await;
}

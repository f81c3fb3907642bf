//! Conformance of amphi's thread information and [`Timer`] with Python's `threading`
//! (`current_thread`, `main_thread`, `enumerate`, `active_count`, `get_ident`,
//! `get_native_id`, the `daemon` flag, `Timer`), after CPython's `test_threading.py`: on
//! native threads and, through `wasm-pack test`, on Web Workers.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use amphi::thread::{self, Builder, Timer};
use amphi::time::Instant;
use amphi::{Error, Event};
use common::{assert_waited_at_least, wait_for};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

const PATIENCE: Duration = Duration::from_secs(30);

/// Starts `count` named threads that each report `current_thread()` and then wait for `gate`.
fn parked_threads(
    prefix: &str,
    count: usize,
    gate: &Arc<Event>,
) -> Vec<amphi::Thread<Result<thread::ThreadInfo, Error>>> {
    let started = Arc::new(AtomicU32::new(0));
    let threads = (0..count)
        .map(|i| {
            let gate = Arc::clone(gate);
            let started = Arc::clone(&started);
            Builder::new()
                .name(format!("{prefix}-{i}"))
                .spawn(move || {
                    let me = thread::current_thread();
                    started.fetch_add(1, Ordering::SeqCst);
                    gate.wait_timeout(PATIENCE)?;
                    Ok(me)
                })
                .expect("spawn")
        })
        .collect();
    wait_for("every parked thread to start", || {
        started.load(Ordering::SeqCst) == count as u32
    });
    threads
}

fn names(infos: &[thread::ThreadInfo]) -> BTreeSet<String> {
    infos.iter().map(|info| info.name().to_owned()).collect()
}

conformance! {
    fn the_main_thread_is_named_main_thread_with_ident_one() {
        let main = thread::main_thread();
        assert_eq!(main.name(), "MainThread");
        assert_eq!(main.ident(), 1);
        assert!(!main.daemon());
        assert!(main.is_alive());
        assert_ne!(main.native_id(), 0);
        assert_eq!(thread::enumerate()[0], main, "enumerate lists the main thread first");
    }

    fn current_thread_describes_the_calling_amphi_thread() {
        let worker = Builder::new()
            .name("describer")
            .spawn(|| {
                let me = thread::current_thread();
                (
                    me.clone(),
                    me.ident() == thread::get_ident(),
                    me.native_id() == thread::get_native_id(),
                    me.is_alive(),
                )
            })
            .unwrap();
        let (me, same_ident, same_native_id, alive) = worker.join_timeout(PATIENCE).unwrap();
        assert_eq!(me.name(), "describer");
        assert!(same_ident && same_native_id, "get_ident/get_native_id agree with current_thread");
        assert!(alive, "alive while it runs");
        assert!(!me.is_alive(), "not alive once its closure returned");
        assert!(me.ident() > 1, "only the main thread has ident 1");
        assert_ne!(me, thread::main_thread());
        assert!(me.to_string().starts_with("<Thread(describer, stopped"), "{me}");
    }

    fn threads_running_at_once_have_distinct_idents_and_native_ids() {
        let gate = Arc::new(Event::new());
        let threads = parked_threads("distinct", 3, &gate);
        gate.set();
        let infos: Vec<_> = threads
            .into_iter()
            .map(|t| t.join_timeout(PATIENCE).unwrap().unwrap())
            .collect();
        let idents: BTreeSet<u64> = infos.iter().map(thread::ThreadInfo::ident).collect();
        let native: BTreeSet<u64> = infos.iter().map(thread::ThreadInfo::native_id).collect();
        assert_eq!(idents.len(), 3, "{infos:?}");
        assert_eq!(native.len(), 3, "three threads at once run on three OS threads or workers: {infos:?}");
        assert!(!native.contains(&thread::main_thread().native_id()), "{infos:?}");
    }

    fn enumerate_and_active_count_list_the_running_threads_only() {
        let gate = Arc::new(Event::new());
        let threads = parked_threads("listed", 2, &gate);
        let listed = names(&thread::enumerate());
        assert!(listed.contains("listed-0") && listed.contains("listed-1"), "{listed:?}");
        assert!(listed.contains("MainThread"), "{listed:?}");
        assert!(thread::active_count() >= 3, "the main thread and two parked threads");
        let alive = thread::enumerate().iter().filter(|t| t.name().starts_with("listed-")).all(|t| t.is_alive());
        assert!(alive);
        gate.set();
        for t in threads {
            t.join_timeout(PATIENCE).unwrap().unwrap();
        }
        let listed = names(&thread::enumerate());
        assert!(!listed.contains("listed-0") && !listed.contains("listed-1"), "joined threads are gone: {listed:?}");
    }

    fn daemon_is_set_by_the_builder_and_inherited() {
        let outer = Builder::new()
            .name("daemonic")
            .daemon(true)
            .spawn(|| {
                let me = thread::current_thread().daemon();
                let child = amphi::Thread::spawn(|| thread::current_thread().daemon()).unwrap();
                let overridden = Builder::new().daemon(false).spawn(|| thread::current_thread().daemon()).unwrap();
                (me, child.daemon(), child.join_timeout(PATIENCE).unwrap(), overridden.join_timeout(PATIENCE).unwrap())
            })
            .unwrap();
        assert!(outer.daemon());
        assert_eq!(outer.join_timeout(PATIENCE).unwrap(), (true, true, true, false));
        let plain = Builder::new().daemon(false).spawn(|| thread::current_thread().daemon()).unwrap();
        assert!(!plain.join_timeout(PATIENCE).unwrap());
    }

    fn a_timer_fires_once_after_its_interval() {
        let fired = Arc::new(AtomicU32::new(0));
        let interval = Duration::from_millis(50);
        let timer = {
            let fired = Arc::clone(&fired);
            Timer::new(interval, move || {
                fired.fetch_add(1, Ordering::SeqCst);
            })
        };
        assert!(!timer.is_alive(), "not alive before start");
        let started = Instant::now();
        timer.start().unwrap();
        assert_eq!(timer.join_timeout(PATIENCE), Ok(true), "the closure ran");
        assert_waited_at_least(started.elapsed(), interval);
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        assert!(!timer.is_alive());
        timer.cancel(); // after it fired: a no-op
        thread::sleep(Duration::from_millis(20)).unwrap();
        assert_eq!(fired.load(Ordering::SeqCst), 1, "it fires once");
    }

    fn a_cancelled_timer_never_fires() {
        let fired = Arc::new(AtomicU32::new(0));
        let timer = {
            let fired = Arc::clone(&fired);
            Timer::new(Duration::from_secs(60), move || {
                fired.fetch_add(1, Ordering::SeqCst);
            })
        };
        timer.start().unwrap();
        assert!(timer.is_alive(), "waiting out its interval");
        timer.cancel();
        assert_eq!(timer.join_timeout(PATIENCE), Ok(false), "cancel wakes it early, unfired");
        assert_eq!(fired.load(Ordering::SeqCst), 0);

        let before_start = Timer::new(Duration::ZERO, || panic!("cancelled before start"));
        before_start.cancel();
        before_start.start().unwrap();
        assert_eq!(before_start.join_timeout(PATIENCE), Ok(false));
    }

    fn timer_misuse_and_panics_are_typed_errors() {
        let timer = Timer::with_builder(Duration::ZERO, Builder::new().name("alarm"), || panic!("ring"));
        assert!(matches!(timer.join_timeout(PATIENCE), Err(Error::InvalidArgument(_))), "join before start");
        timer.start().unwrap();
        assert_eq!(timer.name().as_deref(), Some("alarm"));
        assert!(matches!(timer.start(), Err(Error::InvalidArgument(_))), "start twice");
        assert!(matches!(timer.join(), Err(Error::Panicked(ref report)) if report.message == "ring"));
    }
}

//! Model backend for loom (`--cfg amphi_loom`): the platform as loom can explore it.
//!
//! A futex is emulated by one loom `Mutex` + `Condvar` for all words: `wait` re-checks the word
//! under the mutex before sleeping, and every wake takes the mutex, so a wake-up cannot slip in
//! between the check and the sleep (the futex guarantee). A wake of one wakes everyone, which is a
//! legal futex behaviour (spurious wake-ups) and keeps the model small.
//!
//! Time does not exist in a model: a timed wait that is not woken "times out" at once by
//! advancing a model clock past its deadline, so both outcomes of every timed wait are explored.

use std::future::Future;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use loom::sync::{Condvar, Mutex};

use super::{Futex, ThreadWatch, Wake};
use crate::sync::atomic::{AtomicU32, Ordering};

loom::lazy_static! {
    static ref PARKING: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());
}

/// The model clock, in nanoseconds; only timed waits advance it.
static CLOCK: AtomicU64 = AtomicU64::new(0);

pub(crate) fn can_block() -> bool {
    true
}

pub(crate) fn now() -> Duration {
    Duration::from_nanos(CLOCK.load(std::sync::atomic::Ordering::SeqCst))
}

pub(crate) fn sleep(duration: Duration) {
    advance(duration);
    loom::thread::yield_now();
}

fn advance(duration: Duration) {
    let nanos = duration.as_nanos().min(u64::MAX as u128) as u64;
    CLOCK.fetch_add(nanos.max(1), std::sync::atomic::Ordering::SeqCst);
}

/// The futex wait on the emulated futex. A shared word is never reached (the model maps no
/// region): it returns at once, a spurious wake-up.
pub(crate) fn wait(futex: Futex<'_>, expected: u32, timeout: Option<Duration>) -> bool {
    let Futex::Private(word) = futex else {
        return true;
    };
    let (mutex, condvar) = &*PARKING;
    let guard = mutex.lock().unwrap();
    if word.load(Ordering::SeqCst) != expected {
        return true;
    }
    match timeout {
        None => {
            drop(condvar.wait(guard).unwrap());
            true
        }
        Some(timeout) => {
            drop(guard);
            advance(timeout);
            false
        }
    }
}

/// Wakes every sleeper of every word (see the module docs), whatever `_count` asks.
pub(crate) fn wake(futex: Futex<'_>, _count: Wake) {
    if let Futex::Shared(_) = futex {
        return;
    }
    let (mutex, condvar) = &*PARKING;
    let _guard = mutex.lock().unwrap();
    condvar.notify_all();
}

/// Futures are not modelled: this completes at once (a legal spurious completion).
pub(crate) fn wait_async(_word: &AtomicU32, _expected: u32) -> impl Future<Output = ()> {
    std::future::ready(())
}

pub(crate) fn spawn(
    _name: &str,
    body: Box<dyn FnOnce() + Send>,
    _watch: Arc<dyn ThreadWatch>,
) -> Result<(), String> {
    loom::thread::spawn(body);
    Ok(())
}

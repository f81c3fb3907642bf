//! Futures that wait on a word, natively.
//!
//! The kernel cannot wake a future, so futures register their `Waker` under the word's address
//! in a process-wide registry, and every `wake_*` of a word also drains that word's entries.
//! `PARKED` counts registered entries so that wakes cost one atomic load when no future waits.
//!
//! Ordering: a waiter publishes its entry (SeqCst increment of `PARKED`) and then re-reads the
//! word; a waker changes the word and then, after a SeqCst fence, reads `PARKED`. One of the two
//! must see the other (the store-buffering pattern), so a future never sleeps through a wake.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{fence, AtomicU32, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::task::{Context, Poll, Waker};

static PARKED: AtomicUsize = AtomicUsize::new(0);
static REGISTRY: Mutex<Vec<Entry>> = Mutex::new(Vec::new());

struct Entry {
    key: usize,
    token: u64,
    waker: Waker,
}

static NEXT_TOKEN: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn registry() -> std::sync::MutexGuard<'static, Vec<Entry>> {
    REGISTRY.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// Wakes every future registered on `word`.
pub(super) fn wake_async(word: &AtomicU32) {
    fence(Ordering::SeqCst);
    if PARKED.load(Ordering::SeqCst) == 0 {
        return;
    }
    let key = word.as_ptr() as usize;
    let mut woken = Vec::new();
    {
        let mut entries = registry();
        entries.retain(|entry| {
            if entry.key == key {
                woken.push(entry.waker.clone());
                false
            } else {
                true
            }
        });
        PARKED.fetch_sub(woken.len(), Ordering::SeqCst);
    }
    woken.into_iter().for_each(Waker::wake);
}

/// A future that completes once `word` no longer holds `expected` or it was woken (spurious
/// completions are allowed, as with `wait`).
pub(crate) fn wait_async(word: &AtomicU32, expected: u32) -> WaitAsync<'_> {
    WaitAsync {
        word,
        expected,
        token: None,
    }
}

/// The future returned by [`wait_async`].
#[derive(Debug)]
pub(crate) struct WaitAsync<'a> {
    word: &'a AtomicU32,
    expected: u32,
    token: Option<u64>,
}

impl WaitAsync<'_> {
    /// Removes our entry if it is still registered; true when it was (i.e. not yet woken).
    fn unregister(&mut self) -> bool {
        let Some(token) = self.token.take() else {
            return false;
        };
        let mut entries = registry();
        let before = entries.len();
        entries.retain(|entry| entry.token != token);
        let removed = before - entries.len();
        PARKED.fetch_sub(removed, Ordering::SeqCst);
        removed > 0
    }
}

impl Future for WaitAsync<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some(_token) = this.token {
            // Polled again: done if a wake removed our entry, otherwise refresh the waker.
            if !this.unregister() {
                return Poll::Ready(());
            }
        }
        if this.word.load(Ordering::Acquire) != this.expected {
            return Poll::Ready(());
        }
        let token = NEXT_TOKEN.fetch_add(1, Ordering::Relaxed);
        {
            let mut entries = registry();
            entries.push(Entry {
                key: this.word.as_ptr() as usize,
                token,
                waker: cx.waker().clone(),
            });
            PARKED.fetch_add(1, Ordering::SeqCst);
        }
        this.token = Some(token);
        fence(Ordering::SeqCst);
        if this.word.load(Ordering::SeqCst) != this.expected {
            this.unregister();
            return Poll::Ready(());
        }
        Poll::Pending
    }
}

impl Drop for WaitAsync<'_> {
    fn drop(&mut self) {
        self.unregister();
    }
}

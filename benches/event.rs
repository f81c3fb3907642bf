//! Ping-pong between two threads: `amphi::Event` against a `std::sync::Mutex` + `Condvar` event
//! and against the raw futex round trip amphi is built on, measured in the same run.
//!
//! Group `event_ping_pong_round_trip`; one iteration is one round trip: the main thread sets
//! `ping` and waits for `pong`; the peer waits for `ping`, clears it and sets `pong`; the main
//! thread clears `pong`. Each side sleeps in the kernel while it waits (none of the three spins),
//! so a round trip is two wake-ups and two sleeps.
//!
//! - `amphi_event`: two `amphi::Event`s.
//! - `std_mutex_condvar`: two events made of a `Mutex<bool>` and a `Condvar` (Python's own
//!   `threading.Event` design).
//! - `raw_futex`: two `AtomicU32` words with `FUTEX_WAIT_PRIVATE` / `FUTEX_WAKE_PRIVATE`
//!   written out here: the floor for any futex-based event.
//!
//! Every group samples flat (each sample runs the same number of iterations), so criterion's
//! headline figure is the mean, the figure `scripts/bench-report.mjs` reads.
//!
//! Run with `cargo bench --bench event`. Native (Linux) only: on wasm32 this file compiles to an
//! empty `main`.

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::{Duration, Instant};

    use criterion::SamplingMode;

    /// The event operations the ping-pong needs.
    trait Flag: Send + Sync + 'static {
        fn new() -> Self;
        fn set(&self);
        fn wait(&self);
        fn clear(&self);
    }

    impl Flag for amphi::Event {
        fn new() -> Self {
            amphi::Event::new()
        }
        #[inline]
        fn set(&self) {
            amphi::Event::set(self);
        }
        #[inline]
        fn wait(&self) {
            amphi::Event::wait(self).unwrap();
        }
        #[inline]
        fn clear(&self) {
            amphi::Event::clear(self);
        }
    }

    /// An event as `Mutex<bool>` + `Condvar`.
    struct CondvarEvent {
        flag: Mutex<bool>,
        changed: Condvar,
    }

    impl Flag for CondvarEvent {
        fn new() -> Self {
            CondvarEvent {
                flag: Mutex::new(false),
                changed: Condvar::new(),
            }
        }
        #[inline]
        fn set(&self) {
            *self.flag.lock().unwrap() = true;
            self.changed.notify_all();
        }
        #[inline]
        fn wait(&self) {
            let mut flag = self.flag.lock().unwrap();
            while !*flag {
                flag = self.changed.wait(flag).unwrap();
            }
        }
        #[inline]
        fn clear(&self) {
            *self.flag.lock().unwrap() = false;
        }
    }

    /// An event as one futex word, 0 (unset) or 1 (set): `set` stores 1 and wakes, `wait`
    /// sleeps while the word is 0. The least a futex event can do.
    struct FutexEvent(AtomicU32);

    impl Flag for FutexEvent {
        fn new() -> Self {
            FutexEvent(AtomicU32::new(0))
        }
        #[inline]
        fn set(&self) {
            self.0.store(1, Ordering::Release);
            // SAFETY: FUTEX_WAKE only uses the address of the live word `self.0` as a key.
            unsafe {
                libc::syscall(
                    libc::SYS_futex,
                    self.0.as_ptr(),
                    libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
                    i32::MAX,
                );
            }
        }
        #[inline]
        fn wait(&self) {
            while self.0.load(Ordering::Acquire) == 0 {
                // SAFETY: `self.0` is a live, aligned 32-bit word that the kernel only reads; the
                // null timeout means no timeout. Spurious returns are absorbed by the loop.
                unsafe {
                    libc::syscall(
                        libc::SYS_futex,
                        self.0.as_ptr(),
                        libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                        0u32,
                        std::ptr::null::<libc::timespec>(),
                    );
                }
            }
        }
        #[inline]
        fn clear(&self) {
            self.0.store(0, Ordering::Relaxed);
        }
    }

    /// `iters` round trips between this thread and a peer thread; the peer's start-up is not
    /// measured (the first round trip waits for it, and is not counted).
    fn ping_pong<F: Flag>(iters: u64) -> Duration {
        let ping = Arc::new(F::new());
        let pong = Arc::new(F::new());
        let peer = {
            let (ping, pong) = (Arc::clone(&ping), Arc::clone(&pong));
            std::thread::spawn(move || {
                for _ in 0..=iters {
                    ping.wait();
                    ping.clear();
                    pong.set();
                }
            })
        };
        let round_trip = || {
            ping.set();
            pong.wait();
            pong.clear();
        };
        round_trip(); // the peer is running now
        let began = Instant::now();
        for _ in 0..iters {
            round_trip();
        }
        let elapsed = began.elapsed();
        peer.join().unwrap();
        elapsed
    }

    pub(crate) fn main() {
        let mut criterion = crate::support::criterion();
        let mut group = criterion.benchmark_group("event_ping_pong_round_trip");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi_event", |b| b.iter_custom(ping_pong::<amphi::Event>));
        group.bench_function("std_mutex_condvar", |b| {
            b.iter_custom(ping_pong::<CondvarEvent>)
        });
        group.bench_function("raw_futex", |b| b.iter_custom(ping_pong::<FutexEvent>));
        group.finish();
        criterion.final_summary();
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}

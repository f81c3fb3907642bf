//! `amphi::Semaphore` against `tokio::sync::Semaphore` and a `Mutex<u32>` + `Condvar` semaphore,
//! measured in the same run.
//!
//! - `semaphore_uncontended`: one thread, one acquire and one release (the guard's drop) per
//!   iteration, on a semaphore with one permit.
//! - `semaphore_contended_2_threads`: two threads share a one-permit semaphore; each does one
//!   acquire and release per iteration, so one iteration is two acquire/release pairs. The time
//!   is the wall-clock time until both threads are done.
//!
//! tokio's semaphore is asynchronous; the peer here uses it the way a blocking thread fairly
//! can: `futures_executor::block_on(semaphore.acquire())` (`tokio_block_on`). When a permit is
//! free the future is ready on its first poll; when none is, the thread parks (a futex sleep)
//! until the releaser's waker unparks it, which is what amphi's blocking `acquire` does too.
//! A tokio runtime's `block_on` costs more per call (entering the runtime), and spinning on
//! `try_acquire` never sleeps, so neither is the blocking behaviour being compared. The plain
//! fast path, `try_acquire`, is also shown uncontended (`tokio_try_acquire`).
//!
//! Every group samples flat (each sample runs the same number of iterations), so criterion's
//! headline figure is the mean, the figure `scripts/bench-report.mjs` reads.
//!
//! Run with `cargo bench --bench semaphore`. Native only: on wasm32 this file compiles to an
//! empty `main`.

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::sync::{Arc, Barrier, Condvar, Mutex, MutexGuard};
    use std::time::{Duration, Instant};

    use criterion::{Criterion, SamplingMode};
    use futures_executor::block_on;

    const THREADS: usize = 2;

    /// A blocking semaphore as Python writes it (`threading.Semaphore`): a count under a mutex
    /// and a condvar to sleep on. Like Python's `Condition.notify`, a release only signals the
    /// condvar when someone waits (a `notify_one` with no waiter is still a system call in std).
    struct CondvarSemaphore {
        state: Mutex<CondvarState>,
        available: Condvar,
    }

    struct CondvarState {
        permits: u32,
        waiters: u32,
    }

    impl CondvarSemaphore {
        fn new(permits: u32) -> Self {
            CondvarSemaphore {
                state: Mutex::new(CondvarState {
                    permits,
                    waiters: 0,
                }),
                available: Condvar::new(),
            }
        }

        #[inline]
        fn acquire(&self) -> CondvarPermit<'_> {
            let mut state: MutexGuard<'_, CondvarState> = self.state.lock().unwrap();
            while state.permits == 0 {
                state.waiters += 1;
                state = self.available.wait(state).unwrap();
                state.waiters -= 1;
            }
            state.permits -= 1;
            CondvarPermit(self)
        }
    }

    struct CondvarPermit<'a>(&'a CondvarSemaphore);

    impl Drop for CondvarPermit<'_> {
        #[inline]
        fn drop(&mut self) {
            let mut state = self.0.state.lock().unwrap();
            state.permits += 1;
            if state.waiters > 0 {
                drop(state);
                self.0.available.notify_one();
            }
        }
    }

    /// One acquire and release per call, on a semaphore with one permit.
    trait OnePermit: Send + Sync + 'static {
        fn new() -> Self;
        fn acquire_release(&self);
    }

    impl OnePermit for amphi::Semaphore {
        fn new() -> Self {
            amphi::Semaphore::new(1)
        }
        #[inline]
        fn acquire_release(&self) {
            drop(black_box(self.acquire().unwrap()));
        }
    }

    impl OnePermit for tokio::sync::Semaphore {
        fn new() -> Self {
            tokio::sync::Semaphore::new(1)
        }
        #[inline]
        fn acquire_release(&self) {
            drop(black_box(block_on(self.acquire()).unwrap()));
        }
    }

    impl OnePermit for CondvarSemaphore {
        fn new() -> Self {
            CondvarSemaphore::new(1)
        }
        #[inline]
        fn acquire_release(&self) {
            drop(black_box(self.acquire()));
        }
    }

    /// `THREADS` threads each acquire and release `iters` times; returns the time from the
    /// moment all of them are ready until the last one is done.
    fn contended<S: OnePermit>(iters: u64) -> Duration {
        let semaphore = Arc::new(S::new());
        let start = Arc::new(Barrier::new(THREADS + 1));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let semaphore = Arc::clone(&semaphore);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..iters {
                        semaphore.acquire_release();
                    }
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for worker in workers {
            worker.join().unwrap();
        }
        began.elapsed()
    }

    fn uncontended(c: &mut Criterion) {
        let mut group = c.benchmark_group("semaphore_uncontended");
        group.sampling_mode(SamplingMode::Flat);
        let amphi_semaphore = <amphi::Semaphore as OnePermit>::new();
        group.bench_function("amphi", |b| {
            b.iter(|| black_box(&amphi_semaphore).acquire_release())
        });
        let tokio_semaphore = <tokio::sync::Semaphore as OnePermit>::new();
        group.bench_function("tokio_block_on", |b| {
            b.iter(|| black_box(&tokio_semaphore).acquire_release())
        });
        group.bench_function("tokio_try_acquire", |b| {
            b.iter(|| {
                drop(black_box(
                    black_box(&tokio_semaphore).try_acquire().unwrap(),
                ))
            })
        });
        let condvar_semaphore = <CondvarSemaphore as OnePermit>::new();
        group.bench_function("mutex_condvar", |b| {
            b.iter(|| black_box(&condvar_semaphore).acquire_release())
        });
        group.finish();
    }

    fn contended_2_threads(c: &mut Criterion) {
        let mut group = c.benchmark_group("semaphore_contended_2_threads");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi", |b| b.iter_custom(contended::<amphi::Semaphore>));
        group.bench_function("tokio_block_on", |b| {
            b.iter_custom(contended::<tokio::sync::Semaphore>)
        });
        group.bench_function("mutex_condvar", |b| {
            b.iter_custom(contended::<CondvarSemaphore>)
        });
        group.finish();
    }

    pub(crate) fn main() {
        let mut criterion = crate::support::criterion();
        uncontended(&mut criterion);
        contended_2_threads(&mut criterion);
        criterion.final_summary();
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}

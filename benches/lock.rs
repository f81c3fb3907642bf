//! `amphi::Lock` against `std::sync::Mutex` and `parking_lot::Mutex`, measured in the same run.
//!
//! - `lock_uncontended`: one thread, one acquire and one release per iteration.
//! - `lock_contended_2_threads`: two threads, each doing one acquire, increment and release of a
//!   shared counter per iteration; the time is the wall-clock time until both are done, so one
//!   iteration is two critical sections, one on each thread.
//!
//! Every group samples flat (each sample runs the same number of iterations), so criterion's
//! headline figure is the mean, the figure `scripts/bench-report.mjs` reads.
//!
//! Run with `cargo bench --bench lock`; `bash scripts/bench.sh` runs every benchmark and prints
//! the ratios. Native only: on wasm32 this file compiles to an empty `main`.

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::hint::black_box;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use criterion::{Criterion, SamplingMode};

    const THREADS: usize = 2;

    /// The state two threads share: a lock and the counter it protects.
    trait Counter: Send + Sync + 'static {
        fn new() -> Self;
        /// Acquires, increments the counter, releases.
        fn bump(&self);
        fn get(&self) -> u64;
    }

    /// An amphi `Lock` guards no data, so the counter sits beside it. Relaxed load and store
    /// (not `fetch_add`) make the increment the same plain read-modify-write as `*guard += 1`
    /// under a mutex; the lock's acquire/release ordering is what makes it correct.
    struct AmphiCounter {
        lock: amphi::Lock,
        value: AtomicU64,
    }

    impl Counter for AmphiCounter {
        fn new() -> Self {
            AmphiCounter {
                lock: amphi::Lock::new(),
                value: AtomicU64::new(0),
            }
        }
        #[inline]
        fn bump(&self) {
            let _held = self.lock.acquire().unwrap();
            let value = self.value.load(Ordering::Relaxed);
            self.value.store(value + 1, Ordering::Relaxed);
        }
        fn get(&self) -> u64 {
            self.value.load(Ordering::Relaxed)
        }
    }

    struct StdCounter(std::sync::Mutex<u64>);

    impl Counter for StdCounter {
        fn new() -> Self {
            StdCounter(std::sync::Mutex::new(0))
        }
        #[inline]
        fn bump(&self) {
            *self.0.lock().unwrap() += 1;
        }
        fn get(&self) -> u64 {
            *self.0.lock().unwrap()
        }
    }

    struct ParkingLotCounter(parking_lot::Mutex<u64>);

    impl Counter for ParkingLotCounter {
        fn new() -> Self {
            ParkingLotCounter(parking_lot::Mutex::new(0))
        }
        #[inline]
        fn bump(&self) {
            *self.0.lock() += 1;
        }
        fn get(&self) -> u64 {
            *self.0.lock()
        }
    }

    /// `THREADS` threads each call `bump` `iters` times; returns the time from the moment all of
    /// them are ready until the last one is done (thread start-up is not measured).
    fn contended<C: Counter>(iters: u64) -> Duration {
        let counter = Arc::new(C::new());
        let start = Arc::new(Barrier::new(THREADS + 1));
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let counter = Arc::clone(&counter);
                let start = Arc::clone(&start);
                std::thread::spawn(move || {
                    start.wait();
                    for _ in 0..iters {
                        counter.bump();
                    }
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        for worker in workers {
            worker.join().unwrap();
        }
        let elapsed = began.elapsed();
        assert_eq!(counter.get(), iters * THREADS as u64, "lost increments");
        elapsed
    }

    fn uncontended(c: &mut Criterion) {
        let mut group = c.benchmark_group("lock_uncontended");
        group.sampling_mode(SamplingMode::Flat);
        let amphi_lock = amphi::Lock::new();
        group.bench_function("amphi", |b| {
            b.iter(|| drop(black_box(&amphi_lock).acquire().unwrap()))
        });
        let std_mutex = std::sync::Mutex::new(());
        group.bench_function("std_mutex", |b| {
            b.iter(|| drop(black_box(&std_mutex).lock().unwrap()))
        });
        let parking_lot_mutex = parking_lot::Mutex::new(());
        group.bench_function("parking_lot", |b| {
            b.iter(|| drop(black_box(&parking_lot_mutex).lock()))
        });
        group.finish();
    }

    fn contended_2_threads(c: &mut Criterion) {
        let mut group = c.benchmark_group("lock_contended_2_threads");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi", |b| b.iter_custom(contended::<AmphiCounter>));
        group.bench_function("std_mutex", |b| b.iter_custom(contended::<StdCounter>));
        group.bench_function("parking_lot", |b| {
            b.iter_custom(contended::<ParkingLotCounter>)
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

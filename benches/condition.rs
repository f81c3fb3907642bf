//! Ping-pong between two threads over one condition variable: `amphi::Condition` against
//! `std::sync::Condvar` and `parking_lot::Condvar`, measured in the same run.
//!
//! Group `condition_ping_pong_round_trip`; one iteration is one round trip. Both threads hold the
//! condition's lock except while they wait. A shared `turn` (guarded by the lock) says whose turn
//! it is: the main thread hands the turn to the peer, notifies one waiter and waits until the
//! turn comes back; the peer waits for its turn, hands it back and notifies one waiter. So a
//! round trip is two notifies, two waits and the lock hand-overs they imply.
//!
//! - `amphi_condition`: `amphi::Condition::with_lock` over an `amphi::Lock` (the lock that
//!   matches a mutex; Python's default `Condition()` uses an `RLock`).
//! - `std_mutex_condvar`: `std::sync::Mutex<u32>` and `std::sync::Condvar`.
//! - `parking_lot_condvar`: `parking_lot::Mutex<u32>` and `parking_lot::Condvar`.
//!
//! The group samples flat (each sample runs the same number of iterations), so criterion's
//! headline figure is the mean, the figure `scripts/bench-report.mjs` reads.
//!
//! Run with `cargo bench --bench condition`. Native only: on wasm32 this file compiles to an
//! empty `main`.

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use criterion::SamplingMode;

    const MAIN: u32 = 0;
    const PEER: u32 = 1;

    /// A condition variable with its lock and the `turn` it guards. Each side takes the lock
    /// once and holds it throughout, except while it waits.
    trait TurnCondition: Send + Sync + 'static {
        fn new() -> Self;
        /// The main side: one round trip to wait for the peer to start, then `iters` timed
        /// ones, each handing the turn to the peer, notifying one waiter and waiting for the
        /// turn to come back.
        fn lead(&self, iters: u64) -> Duration;
        /// The peer side: `rounds` times, waits for its turn, hands it back and notifies.
        fn follow(&self, rounds: u64);
    }

    struct AmphiTurn {
        condition: amphi::Condition<amphi::Lock>,
        /// Guarded by the condition's lock; relaxed accesses are ordered by it.
        turn: AtomicU32,
    }

    impl AmphiTurn {
        #[inline]
        fn wait_for(&self, mine: u32) {
            self.condition
                .wait_for(|| self.turn.load(Ordering::Relaxed) == mine)
                .unwrap();
        }
        #[inline]
        fn hand_over(&self, to: u32) {
            self.turn.store(to, Ordering::Relaxed);
            self.condition.notify(1).unwrap();
        }
    }

    impl TurnCondition for AmphiTurn {
        fn new() -> Self {
            AmphiTurn {
                condition: amphi::Condition::with_lock(Arc::new(amphi::Lock::new())),
                turn: AtomicU32::new(MAIN),
            }
        }
        fn lead(&self, iters: u64) -> Duration {
            let _held = self.condition.acquire().unwrap();
            self.hand_over(PEER);
            self.wait_for(MAIN);
            let began = Instant::now();
            for _ in 0..iters {
                self.hand_over(PEER);
                self.wait_for(MAIN);
            }
            began.elapsed()
        }
        fn follow(&self, rounds: u64) {
            let _held = self.condition.acquire().unwrap();
            for _ in 0..rounds {
                self.wait_for(PEER);
                self.hand_over(MAIN);
            }
        }
    }

    struct StdTurn {
        turn: std::sync::Mutex<u32>,
        changed: std::sync::Condvar,
    }

    impl StdTurn {
        #[inline]
        fn round<'a>(
            &'a self,
            mut turn: std::sync::MutexGuard<'a, u32>,
            to: u32,
            mine: u32,
        ) -> std::sync::MutexGuard<'a, u32> {
            *turn = to;
            self.changed.notify_one();
            while *turn != mine {
                turn = self.changed.wait(turn).unwrap();
            }
            turn
        }
    }

    impl TurnCondition for StdTurn {
        fn new() -> Self {
            StdTurn {
                turn: std::sync::Mutex::new(MAIN),
                changed: std::sync::Condvar::new(),
            }
        }
        fn lead(&self, iters: u64) -> Duration {
            let mut turn = self.turn.lock().unwrap();
            turn = self.round(turn, PEER, MAIN);
            let began = Instant::now();
            for _ in 0..iters {
                turn = self.round(turn, PEER, MAIN);
            }
            let elapsed = began.elapsed();
            drop(turn);
            elapsed
        }
        fn follow(&self, rounds: u64) {
            let mut turn = self.turn.lock().unwrap();
            for _ in 0..rounds {
                while *turn != PEER {
                    turn = self.changed.wait(turn).unwrap();
                }
                *turn = MAIN;
                self.changed.notify_one();
            }
        }
    }

    struct ParkingLotTurn {
        turn: parking_lot::Mutex<u32>,
        changed: parking_lot::Condvar,
    }

    impl ParkingLotTurn {
        #[inline]
        fn round(&self, turn: &mut parking_lot::MutexGuard<'_, u32>, to: u32, mine: u32) {
            **turn = to;
            self.changed.notify_one();
            while **turn != mine {
                self.changed.wait(turn);
            }
        }
    }

    impl TurnCondition for ParkingLotTurn {
        fn new() -> Self {
            ParkingLotTurn {
                turn: parking_lot::Mutex::new(MAIN),
                changed: parking_lot::Condvar::new(),
            }
        }
        fn lead(&self, iters: u64) -> Duration {
            let mut turn = self.turn.lock();
            self.round(&mut turn, PEER, MAIN);
            let began = Instant::now();
            for _ in 0..iters {
                self.round(&mut turn, PEER, MAIN);
            }
            began.elapsed()
        }
        fn follow(&self, rounds: u64) {
            let mut turn = self.turn.lock();
            for _ in 0..rounds {
                while *turn != PEER {
                    self.changed.wait(&mut turn);
                }
                *turn = MAIN;
                self.changed.notify_one();
            }
        }
    }

    /// `iters` round trips between this thread and a peer thread, not counting a first one that
    /// waits for the peer to start.
    fn ping_pong<C: TurnCondition>(iters: u64) -> Duration {
        let shared = Arc::new(C::new());
        let peer = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || shared.follow(iters + 1))
        };
        let elapsed = shared.lead(iters);
        peer.join().unwrap();
        elapsed
    }

    pub(crate) fn main() {
        let mut criterion = crate::support::criterion();
        let mut group = criterion.benchmark_group("condition_ping_pong_round_trip");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi_condition", |b| b.iter_custom(ping_pong::<AmphiTurn>));
        group.bench_function("std_mutex_condvar", |b| b.iter_custom(ping_pong::<StdTurn>));
        group.bench_function("parking_lot_condvar", |b| {
            b.iter_custom(ping_pong::<ParkingLotTurn>)
        });
        group.finish();
        criterion.final_summary();
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}

//! `amphi::Queue` against `crossbeam_channel::bounded` and `std::sync::mpsc::sync_channel`,
//! measured in the same run.
//!
//! - `queue_throughput_spsc`: one producer and one consumer thread move small items (`u64`)
//!   through a queue bounded to 1,000; one iteration is one item (put and get), the time is the
//!   wall-clock time until both threads are done.
//! - `queue_throughput_4x4`: the same with 4 producers and 4 consumers; one iteration is still
//!   one item. `std::sync::mpsc` has a single receiver, so its 4 consumers share it behind a
//!   `std::sync::Mutex` (the usual way to fan a std channel out); in the one-consumer group the
//!   receiver is used directly.
//! - `queue_ping_pong_round_trip`: two queues bounded to 1 between two threads; one iteration is
//!   one round trip (A puts on `ping` and gets from `pong`; B gets from `ping` and puts on
//!   `pong`).
//!
//! Threads start once per sample and wait at a barrier; thread start-up is not timed. Every
//! group samples flat (each sample runs the same number of iterations), so criterion's headline
//! figure is the mean, the figure `scripts/bench-report.mjs` reads.
//!
//! Run with `cargo bench --bench queue`; `bash scripts/bench.sh` runs every benchmark and prints
//! the ratios. Native only: on wasm32 this file compiles to an empty `main`.

#[cfg(not(target_arch = "wasm32"))]
mod support;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::sync::{Arc, Barrier, Mutex};
    use std::time::{Duration, Instant};

    use criterion::{Criterion, SamplingMode};

    /// The bound of the throughput groups' queues.
    const CAPACITY: usize = 1000;

    /// A bounded multi-producer channel of `u64`s: what the benchmarks need of each peer.
    trait Channel: 'static {
        type Sender: Clone + Send + 'static;
        type Receiver: Send + 'static;
        fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver);
        /// `consumers` handles on the receiving end, for as many consumer threads.
        fn receivers(receiver: Self::Receiver, consumers: usize) -> Vec<Self::Receiver>;
        /// Puts `item`, waiting while the channel is full.
        fn send(sender: &Self::Sender, item: u64);
        /// Takes an item, waiting while the channel is empty.
        fn recv(receiver: &Self::Receiver) -> u64;
    }

    /// `amphi::Queue`, shared with an `Arc` by producers and consumers alike.
    struct AmphiQueue;

    impl Channel for AmphiQueue {
        type Sender = Arc<amphi::Queue<u64>>;
        type Receiver = Arc<amphi::Queue<u64>>;
        fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
            let queue = Arc::new(amphi::Queue::bounded(capacity));
            (Arc::clone(&queue), queue)
        }
        fn receivers(receiver: Self::Receiver, consumers: usize) -> Vec<Self::Receiver> {
            vec![receiver; consumers]
        }
        #[inline]
        fn send(sender: &Self::Sender, item: u64) {
            sender.put(item).unwrap();
        }
        #[inline]
        fn recv(receiver: &Self::Receiver) -> u64 {
            receiver.get().unwrap()
        }
    }

    struct Crossbeam;

    impl Channel for Crossbeam {
        type Sender = crossbeam_channel::Sender<u64>;
        type Receiver = crossbeam_channel::Receiver<u64>;
        fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
            crossbeam_channel::bounded(capacity)
        }
        fn receivers(receiver: Self::Receiver, consumers: usize) -> Vec<Self::Receiver> {
            vec![receiver; consumers]
        }
        #[inline]
        fn send(sender: &Self::Sender, item: u64) {
            sender.send(item).unwrap();
        }
        #[inline]
        fn recv(receiver: &Self::Receiver) -> u64 {
            receiver.recv().unwrap()
        }
    }

    struct StdSync;

    /// A std receiver: used directly by a single consumer, shared behind a mutex by several.
    enum StdReceiver {
        Alone(std::sync::mpsc::Receiver<u64>),
        Shared(Arc<Mutex<std::sync::mpsc::Receiver<u64>>>),
    }

    impl Channel for StdSync {
        type Sender = std::sync::mpsc::SyncSender<u64>;
        type Receiver = StdReceiver;
        fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
            let (sender, receiver) = std::sync::mpsc::sync_channel(capacity);
            (sender, StdReceiver::Alone(receiver))
        }
        fn receivers(receiver: Self::Receiver, consumers: usize) -> Vec<Self::Receiver> {
            match receiver {
                StdReceiver::Alone(receiver) if consumers > 1 => {
                    let shared = Arc::new(Mutex::new(receiver));
                    (0..consumers)
                        .map(|_| StdReceiver::Shared(Arc::clone(&shared)))
                        .collect()
                }
                receiver => vec![receiver],
            }
        }
        #[inline]
        fn send(sender: &Self::Sender, item: u64) {
            sender.send(item).unwrap();
        }
        #[inline]
        fn recv(receiver: &Self::Receiver) -> u64 {
            match receiver {
                StdReceiver::Alone(receiver) => receiver.recv().unwrap(),
                StdReceiver::Shared(receiver) => receiver.lock().unwrap().recv().unwrap(),
            }
        }
    }

    /// `n` shares of `total` that add up to it.
    fn shares(total: u64, n: usize) -> impl Iterator<Item = u64> {
        let n = n as u64;
        (0..n).map(move |i| total / n + u64::from(i < total % n))
    }

    /// `producers` threads put `items` items in all through a queue bounded to `CAPACITY`, and
    /// `consumers` threads get them; returns the time from the moment every thread is ready
    /// until the last one is done (thread start-up is not measured).
    fn throughput<C: Channel>(producers: usize, consumers: usize, items: u64) -> Duration {
        let (sender, receiver) = C::bounded(CAPACITY);
        let start = Arc::new(Barrier::new(producers + consumers + 1));
        let mut threads = Vec::new();
        for share in shares(items, producers) {
            let (sender, start) = (sender.clone(), Arc::clone(&start));
            threads.push(std::thread::spawn(move || {
                start.wait();
                for item in 0..share {
                    C::send(&sender, item);
                }
                0
            }));
        }
        drop(sender);
        let receivers = C::receivers(receiver, consumers);
        for (receiver, share) in receivers.into_iter().zip(shares(items, consumers)) {
            let start = Arc::clone(&start);
            threads.push(std::thread::spawn(move || {
                start.wait();
                let mut sum = 0u64;
                for _ in 0..share {
                    sum = sum.wrapping_add(C::recv(&receiver));
                }
                sum
            }));
        }
        start.wait();
        let began = Instant::now();
        let sum = threads
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .fold(0u64, u64::wrapping_add);
        let elapsed = began.elapsed();
        let expected = shares(items, producers)
            .map(|share| share * share.saturating_sub(1) / 2)
            .fold(0u64, u64::wrapping_add);
        assert_eq!(sum, expected, "items lost or duplicated");
        elapsed
    }

    /// `round_trips` round trips between this thread and a peer thread through two queues
    /// bounded to 1; a first round trip, which waits for the peer to start, is not timed.
    fn ping_pong<C: Channel>(round_trips: u64) -> Duration {
        let (ping_sender, ping_receiver) = C::bounded(1);
        let (pong_sender, pong_receiver) = C::bounded(1);
        let peer = std::thread::spawn(move || {
            for _ in 0..=round_trips {
                let item = C::recv(&ping_receiver);
                C::send(&pong_sender, item + 1);
            }
        });
        C::send(&ping_sender, 0);
        assert_eq!(C::recv(&pong_receiver), 1);
        let began = Instant::now();
        for item in 0..round_trips {
            C::send(&ping_sender, item);
            assert_eq!(C::recv(&pong_receiver), item + 1);
        }
        let elapsed = began.elapsed();
        peer.join().unwrap();
        elapsed
    }

    fn throughput_group(c: &mut Criterion, name: &str, producers: usize, consumers: usize) {
        let mut group = c.benchmark_group(name);
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi", |b| {
            b.iter_custom(|items| throughput::<AmphiQueue>(producers, consumers, items))
        });
        group.bench_function("crossbeam_bounded", |b| {
            b.iter_custom(|items| throughput::<Crossbeam>(producers, consumers, items))
        });
        group.bench_function("std_sync_channel", |b| {
            b.iter_custom(|items| throughput::<StdSync>(producers, consumers, items))
        });
        group.finish();
    }

    fn ping_pong_group(c: &mut Criterion) {
        let mut group = c.benchmark_group("queue_ping_pong_round_trip");
        group.sampling_mode(SamplingMode::Flat);
        group.bench_function("amphi", |b| b.iter_custom(ping_pong::<AmphiQueue>));
        group.bench_function("crossbeam_bounded", |b| {
            b.iter_custom(ping_pong::<Crossbeam>)
        });
        group.bench_function("std_sync_channel", |b| b.iter_custom(ping_pong::<StdSync>));
        group.finish();
    }

    pub(crate) fn main() {
        let mut criterion = crate::support::criterion();
        throughput_group(&mut criterion, "queue_throughput_spsc", 1, 1);
        throughput_group(&mut criterion, "queue_throughput_4x4", 4, 4);
        ping_pong_group(&mut criterion);
        criterion.final_summary();
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}

//! The browser benchmarks behind `runBenchmark`: an amphi primitive against its `std::sync` peer
//! compiled to the same wasm module, both run on amphi threads (Web Workers) and timed with
//! amphi's clock in the same call, so the ratio compares like with like.
//!
//! - `lock-contended`: two threads each do `OPS_PER_THREAD` acquire/increment/release of a shared
//!   counter, on an `amphi::Lock` or a `std::sync::Mutex<u64>`. One op is one critical section.
//! - `event-ping-pong`: round trips between two threads, each waiting for its event, clearing it
//!   and setting the other's, with `amphi::Event`s or `Mutex<bool>` + `Condvar` events. One op
//!   is one round trip.
//! - `queue-throughput`: one producer thread puts `QUEUE_ITEMS` small items (`u64`) through a
//!   queue bounded to `QUEUE_CAPACITY` and one consumer thread gets them, on an `amphi::Queue`
//!   or a `std::sync::mpsc::sync_channel`. One op is one item (one put and one get).
//!
//! Each benchmark runs both sides once to warm up (starting the workers), then `RUNS` times,
//! alternating amphi and the peer; the figures are the medians, and every run's figure is
//! reported beside them (in run order, amphi's `i`-th run just before the peer's), to show the
//! spread.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use amphi::time::Instant;
use amphi::{Event, Lock, Queue, Thread};
use serde::Serialize;

/// The benchmarks `run` knows, in the order the page shows them.
pub(crate) const NAMES: [&str; 3] = ["lock-contended", "event-ping-pong", "queue-throughput"];

const RUNS: usize = 7;
const THREADS: u64 = 2;
const OPS_PER_THREAD: u64 = 500_000;
const ROUND_TRIPS: u64 = 20_000;
const QUEUE_ITEMS: u64 = 200_000;
const QUEUE_CAPACITY: usize = 1000;

/// One benchmark's outcome; `ratio` is amphi's time over the peer's (below 1: amphi is faster).
#[derive(Debug, Serialize)]
pub(crate) struct Comparison {
    name: &'static str,
    op: &'static str,
    amphi: &'static str,
    amphi_ns_per_op: f64,
    peer: &'static str,
    peer_ns_per_op: f64,
    ratio: f64,
    amphi_runs_ns_per_op: Vec<f64>,
    peer_runs_ns_per_op: Vec<f64>,
    ops_per_run: u64,
    runs: usize,
}

/// Runs the benchmark `name`. Must run on a thread that may block (an amphi worker).
pub(crate) fn run(name: &str) -> Result<Comparison, String> {
    match name {
        "lock-contended" => {
            let ops = THREADS * OPS_PER_THREAD;
            let runs = compare(
                || contended::<AmphiCounter>().map(|t| per_op(t, ops)),
                || contended::<StdCounter>().map(|t| per_op(t, ops)),
            )?;
            Ok(Comparison {
                name: NAMES[0],
                op: "one acquire/increment/release, 2 threads contending",
                amphi: "amphi::Lock",
                amphi_ns_per_op: median(&runs.amphi),
                peer: "std::sync::Mutex",
                peer_ns_per_op: median(&runs.peer),
                ratio: median(&runs.amphi) / median(&runs.peer),
                amphi_runs_ns_per_op: runs.amphi,
                peer_runs_ns_per_op: runs.peer,
                ops_per_run: ops,
                runs: RUNS,
            })
        }
        "event-ping-pong" => {
            let runs = compare(
                || ping_pong::<Event>().map(|t| per_op(t, ROUND_TRIPS)),
                || ping_pong::<CondvarEvent>().map(|t| per_op(t, ROUND_TRIPS)),
            )?;
            Ok(Comparison {
                name: NAMES[1],
                op: "one round trip between 2 threads",
                amphi: "amphi::Event",
                amphi_ns_per_op: median(&runs.amphi),
                peer: "std::sync::Mutex + Condvar",
                peer_ns_per_op: median(&runs.peer),
                ratio: median(&runs.amphi) / median(&runs.peer),
                amphi_runs_ns_per_op: runs.amphi,
                peer_runs_ns_per_op: runs.peer,
                ops_per_run: ROUND_TRIPS,
                runs: RUNS,
            })
        }
        "queue-throughput" => {
            let runs = compare(
                || throughput::<AmphiQueue>().map(|t| per_op(t, QUEUE_ITEMS)),
                || throughput::<StdSyncChannel>().map(|t| per_op(t, QUEUE_ITEMS)),
            )?;
            Ok(Comparison {
                name: NAMES[2],
                op: "one item through a queue bounded to 1000, 1 producer and 1 consumer",
                amphi: "amphi::Queue",
                amphi_ns_per_op: median(&runs.amphi),
                peer: "std::sync::mpsc::sync_channel",
                peer_ns_per_op: median(&runs.peer),
                ratio: median(&runs.amphi) / median(&runs.peer),
                amphi_runs_ns_per_op: runs.amphi,
                peer_runs_ns_per_op: runs.peer,
                ops_per_run: QUEUE_ITEMS,
                runs: RUNS,
            })
        }
        _ => Err(format!(
            "unknown benchmark {name:?}; known: {}",
            NAMES.join(", ")
        )),
    }
}

fn per_op(elapsed: Duration, ops: u64) -> f64 {
    elapsed.as_nanos() as f64 / ops as f64
}

/// Every timed run's time per op of both sides, in run order.
struct Runs {
    amphi: Vec<f64>,
    peer: Vec<f64>,
}

/// Warms both sides up, then runs them `RUNS` times each, alternating.
fn compare(
    mut amphi: impl FnMut() -> Result<f64, String>,
    mut peer: impl FnMut() -> Result<f64, String>,
) -> Result<Runs, String> {
    amphi()?;
    peer()?;
    let mut runs = Runs {
        amphi: Vec::with_capacity(RUNS),
        peer: Vec::with_capacity(RUNS),
    };
    for _ in 0..RUNS {
        runs.amphi.push(amphi()?);
        runs.peer.push(peer()?);
    }
    Ok(runs)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}

fn spawn<T: Send + 'static>(
    name: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> Result<Thread<T>, String> {
    amphi::thread::Builder::new()
        .name(name)
        .spawn(body)
        .map_err(|error| error.to_string())
}

/// The state two threads share: a lock and the counter it protects.
trait Counter: Send + Sync + 'static {
    fn new() -> Self;
    /// Acquires, increments the counter, releases.
    fn bump(&self);
    fn get(&self) -> u64;
}

/// An amphi `Lock` guards no data (as Python's), so the counter sits beside it in a plain cell
/// that only the lock's holder touches: the increment is the same non-atomic read-modify-write
/// as `*guard += 1` under a mutex. (An atomic counter would not be: every wasm atomic access is
/// sequentially consistent, even a `Relaxed` one, so a "relaxed" load and store in the critical
/// section cost a full fence each in the browser and made the lock look 1.4-2.0x slower than
/// std's; natively relaxed accesses are plain moves and the two harnesses agree.)
struct AmphiCounter {
    lock: Lock,
    value: UnsafeCell<u64>,
}

// SAFETY: `value` is only read or written while `lock` is held (in `bump`), or after every
// thread that bumped it was joined (in `get`), so no two threads ever access it at once.
unsafe impl Sync for AmphiCounter {}

impl Counter for AmphiCounter {
    fn new() -> Self {
        AmphiCounter {
            lock: Lock::new(),
            value: UnsafeCell::new(0),
        }
    }
    #[inline]
    fn bump(&self) {
        let _held = self.lock.acquire().expect("workers may block");
        // SAFETY: the lock is held, so this thread alone accesses the counter (see `Sync`).
        unsafe { *self.value.get() += 1 };
    }
    fn get(&self) -> u64 {
        let _held = self.lock.acquire().expect("workers may block");
        // SAFETY: the lock is held, so this thread alone accesses the counter (see `Sync`).
        unsafe { *self.value.get() }
    }
}

struct StdCounter(Mutex<u64>);

impl Counter for StdCounter {
    fn new() -> Self {
        StdCounter(Mutex::new(0))
    }
    #[inline]
    fn bump(&self) {
        *self.0.lock().unwrap() += 1;
    }
    fn get(&self) -> u64 {
        *self.0.lock().unwrap()
    }
}

/// `THREADS` threads each `bump` `OPS_PER_THREAD` times; the time runs from the moment every
/// thread is ready until the last one has been joined (thread start-up is not measured).
fn contended<C: Counter>() -> Result<Duration, String> {
    let counter = Arc::new(C::new());
    let ready = Arc::new(AtomicU32::new(0));
    let go = Arc::new(Event::new());
    let workers = (0..THREADS)
        .map(|i| {
            let (counter, ready, go) = (counter.clone(), ready.clone(), go.clone());
            spawn(&format!("bench contender {i}"), move || {
                ready.fetch_add(1, Ordering::SeqCst);
                go.wait().expect("workers may block");
                for _ in 0..OPS_PER_THREAD {
                    counter.bump();
                }
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    while ready.load(Ordering::SeqCst) < THREADS as u32 {
        amphi::thread::sleep(Duration::from_micros(100)).map_err(|e| e.to_string())?;
    }
    let began = Instant::now();
    go.set();
    for worker in workers {
        worker.join().map_err(|error| error.to_string())?;
    }
    let elapsed = began.elapsed();
    let total = counter.get();
    if total != THREADS * OPS_PER_THREAD {
        return Err(format!("lost increments: {total}"));
    }
    Ok(elapsed)
}

/// The event operations the ping-pong needs.
trait Flag: Send + Sync + 'static {
    fn new() -> Self;
    fn set(&self);
    fn wait(&self);
    fn clear(&self);
}

impl Flag for Event {
    fn new() -> Self {
        Event::new()
    }
    fn set(&self) {
        Event::set(self);
    }
    fn wait(&self) {
        Event::wait(self).expect("workers may block");
    }
    fn clear(&self) {
        Event::clear(self);
    }
}

/// An event as `Mutex<bool>` + `Condvar` (Python's `threading.Event` design).
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
    fn set(&self) {
        *self.flag.lock().unwrap() = true;
        self.changed.notify_all();
    }
    fn wait(&self) {
        let mut flag = self.flag.lock().unwrap();
        while !*flag {
            flag = self.changed.wait(flag).unwrap();
        }
    }
    fn clear(&self) {
        *self.flag.lock().unwrap() = false;
    }
}

/// `ROUND_TRIPS` round trips between this thread and a peer thread, not counting a first one
/// that waits for the peer to start.
fn ping_pong<F: Flag>() -> Result<Duration, String> {
    let ping = Arc::new(F::new());
    let pong = Arc::new(F::new());
    let peer = {
        let (ping, pong) = (ping.clone(), pong.clone());
        spawn("bench ping-pong peer", move || {
            for _ in 0..=ROUND_TRIPS {
                ping.wait();
                ping.clear();
                pong.set();
            }
        })?
    };
    let round_trip = || {
        ping.set();
        pong.wait();
        pong.clear();
    };
    round_trip();
    let began = Instant::now();
    for _ in 0..ROUND_TRIPS {
        round_trip();
    }
    let elapsed = began.elapsed();
    peer.join().map_err(|error| error.to_string())?;
    Ok(elapsed)
}

/// A bounded channel of `u64`s with one producer and one consumer.
trait Channel: 'static {
    type Sender: Send + 'static;
    type Receiver: Send + 'static;
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver);
    fn send(sender: &Self::Sender, item: u64);
    fn recv(receiver: &Self::Receiver) -> u64;
}

/// `amphi::Queue`, shared with an `Arc`.
struct AmphiQueue;

impl Channel for AmphiQueue {
    type Sender = Arc<Queue<u64>>;
    type Receiver = Arc<Queue<u64>>;
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        let queue = Arc::new(Queue::bounded(capacity));
        (queue.clone(), queue)
    }
    fn send(sender: &Self::Sender, item: u64) {
        sender.put(item).expect("workers may block");
    }
    fn recv(receiver: &Self::Receiver) -> u64 {
        receiver.get().expect("workers may block")
    }
}

struct StdSyncChannel;

impl Channel for StdSyncChannel {
    type Sender = std::sync::mpsc::SyncSender<u64>;
    type Receiver = std::sync::mpsc::Receiver<u64>;
    fn bounded(capacity: usize) -> (Self::Sender, Self::Receiver) {
        std::sync::mpsc::sync_channel(capacity)
    }
    fn send(sender: &Self::Sender, item: u64) {
        sender.send(item).expect("the consumer is alive");
    }
    fn recv(receiver: &Self::Receiver) -> u64 {
        receiver.recv().expect("the producer is alive")
    }
}

/// One producer puts `QUEUE_ITEMS` items and one consumer gets them; the time runs from the
/// moment both threads are ready until both have been joined (thread start-up is not measured).
fn throughput<C: Channel>() -> Result<Duration, String> {
    let (sender, receiver) = C::bounded(QUEUE_CAPACITY);
    let ready = Arc::new(AtomicU32::new(0));
    let go = Arc::new(Event::new());
    let producer = {
        let (ready, go) = (ready.clone(), go.clone());
        spawn("bench producer", move || {
            ready.fetch_add(1, Ordering::SeqCst);
            go.wait().expect("workers may block");
            for item in 0..QUEUE_ITEMS {
                C::send(&sender, item);
            }
        })?
    };
    let consumer = {
        let (ready, go) = (ready.clone(), go.clone());
        spawn("bench consumer", move || {
            ready.fetch_add(1, Ordering::SeqCst);
            go.wait().expect("workers may block");
            let mut sum = 0u64;
            for _ in 0..QUEUE_ITEMS {
                sum = sum.wrapping_add(C::recv(&receiver));
            }
            sum
        })?
    };
    while ready.load(Ordering::SeqCst) < 2 {
        amphi::thread::sleep(Duration::from_micros(100)).map_err(|e| e.to_string())?;
    }
    let began = Instant::now();
    go.set();
    producer.join().map_err(|error| error.to_string())?;
    let sum = consumer.join().map_err(|error| error.to_string())?;
    let elapsed = began.elapsed();
    if sum != QUEUE_ITEMS * (QUEUE_ITEMS - 1) / 2 {
        return Err(format!("items lost or duplicated: sum {sum}"));
    }
    Ok(elapsed)
}

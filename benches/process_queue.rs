//! Process queues and pipes against Python's `multiprocessing.Queue` and `Pipe`, measured in
//! the same run:
//!
//! - queue throughput: a child process puts `N` small items (`u64`) on an unbounded
//!   `amphi::process::Queue`, the parent gets them; items per second;
//! - queue ping-pong: two queues; the parent puts on `ping` and gets from `pong`, the child gets
//!   from `ping` and puts the item back on `pong`; time per round trip;
//! - pipe throughput: the same as the queue's over a one-way `amphi::process::Pipe` (the child
//!   sends, the parent receives);
//! - pipe ping-pong: the same as the queue's over one duplex `Pipe`.
//!
//! Process start-up is never timed: a throughput child waits at a process `Barrier` with the
//! parent, whose clock starts when both pass it and stops at its last item; a ping-pong does
//! `WARM_UP` untimed round trips before its clock starts. Each figure is the best of 3 rounds
//! (a fresh child each round): a busy machine only ever slows a round.
//!
//! Python runs the same four measurements from `benches/peers/python_queue.py` with `python3`
//! and the `fork` start method (skipped with a note if there is no `python3`). The issue's
//! targets, natively: at least 1,000,000 messages a second, and a round trip under 10 µs.
//!
//! Run with `cargo bench --bench process_queue` (native only: on wasm32 this is an empty
//! `main`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::process::Command;

    use amphi::process::{Barrier, Connection, Pipe, Process, Queue};
    use amphi::time::Instant;
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    /// Items per throughput round.
    const N: u64 = 1_000_000;
    /// Round trips per ping-pong round, after `WARM_UP` untimed ones.
    const ROUND_TRIPS: u64 = 50_000;
    const WARM_UP: u64 = 1_000;
    const ROUNDS: usize = 3;
    /// Python's counts: it is about 10x slower, and a round should take about as long.
    const PYTHON_N: u64 = 100_000;
    const PYTHON_ROUND_TRIPS: u64 = 10_000;

    const MILLION: f64 = 1e6;
    const TARGET_RATE: f64 = 1e6;
    const TARGET_ROUND_TRIP: f64 = 10e-6;

    /// The sum of `0..n`, which the receiving side checks.
    fn expected_sum(n: u64) -> u64 {
        n * (n - 1) / 2
    }

    fn put_n((queue, start, n): (Queue<u64>, Barrier, u64)) {
        start.wait().expect("the start barrier");
        for item in 0..n {
            queue.put(item).expect("put");
        }
    }

    fn echo_queue((ping, pong, n): (Queue<u64>, Queue<u64>, u64)) {
        for _ in 0..n {
            pong.put(ping.get().expect("get")).expect("put");
        }
    }

    fn send_n((sender, start, n): (Connection<u64>, Barrier, u64)) {
        start.wait().expect("the start barrier");
        for item in 0..n {
            sender.send(item).expect("send");
        }
    }

    fn echo_pipe((end, n): (Connection<u64>, u64)) {
        for _ in 0..n {
            end.send(end.recv().expect("recv")).expect("send");
        }
    }

    /// Seconds per item for `N` items from a child, counted from the barrier to the last.
    fn throughput<A: Serialize + DeserializeOwned>(
        child: fn(A),
        args: A,
        start: &Barrier,
        mut take: impl FnMut() -> u64,
    ) -> f64 {
        let worker = Process::new(child, args);
        worker.start().expect("start");
        start.wait().expect("the start barrier");
        let began = Instant::now();
        let mut sum = 0u64;
        for _ in 0..N {
            sum += take();
        }
        let elapsed = began.elapsed().as_secs_f64();
        worker.join().expect("join");
        assert_eq!(sum, expected_sum(N));
        elapsed / N as f64
    }

    fn queue_throughput() -> f64 {
        let queue = Queue::<u64>::unbounded().expect("a process Queue");
        let start = Barrier::new(2).expect("a process Barrier");
        throughput(put_n, (queue.clone(), start.clone(), N), &start, || {
            queue.get().expect("get")
        })
    }

    fn pipe_throughput() -> f64 {
        let (receiver, sender) = Pipe::new::<u64>(false).expect("a process Pipe");
        let start = Barrier::new(2).expect("a process Barrier");
        throughput(send_n, (sender, start.clone(), N), &start, || {
            receiver.recv().expect("recv")
        })
    }

    /// Seconds per round trip: `WARM_UP` untimed, then `ROUND_TRIPS` timed.
    fn ping_pong<A: Serialize + DeserializeOwned>(
        child: fn(A),
        args: A,
        mut round_trip: impl FnMut(u64) -> u64,
    ) -> f64 {
        let worker = Process::new(child, args);
        worker.start().expect("start");
        for item in 0..WARM_UP {
            assert_eq!(round_trip(item), item);
        }
        let began = Instant::now();
        for item in 0..ROUND_TRIPS {
            assert_eq!(round_trip(item), item);
        }
        let elapsed = began.elapsed().as_secs_f64();
        worker.join().expect("join");
        elapsed / ROUND_TRIPS as f64
    }

    fn queue_ping_pong() -> f64 {
        let ping = Queue::<u64>::unbounded().expect("a process Queue");
        let pong = Queue::<u64>::unbounded().expect("a process Queue");
        let args = (ping.clone(), pong.clone(), WARM_UP + ROUND_TRIPS);
        ping_pong(echo_queue, args, |item| {
            ping.put(item).expect("put");
            pong.get().expect("get")
        })
    }

    fn pipe_ping_pong() -> f64 {
        let (here, there) = Pipe::new::<u64>(true).expect("a process Pipe");
        ping_pong(echo_pipe, (there, WARM_UP + ROUND_TRIPS), |item| {
            here.send(item).expect("send");
            here.recv().expect("recv")
        })
    }

    fn best_of(measure: fn() -> f64) -> f64 {
        (0..ROUNDS).map(|_| measure()).fold(f64::MAX, f64::min)
    }

    /// Python's four figures (seconds per item or per round trip), in the order of `NAMES`.
    fn python_figures() -> Option<[f64; 4]> {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/peers/python_queue.py");
        let output = Command::new("python3")
            .arg(script)
            .arg(PYTHON_N.to_string())
            .arg(PYTHON_ROUND_TRIPS.to_string())
            .arg(ROUNDS.to_string())
            .output()
            .ok()?;
        let figures: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let figure = |name: &str| figures[name].as_f64();
        Some([
            figure(NAMES[0])?,
            figure(NAMES[1])?,
            figure(NAMES[2])?,
            figure(NAMES[3])?,
        ])
    }

    const NAMES: [&str; 4] = [
        "queue_throughput",
        "queue_ping_pong",
        "pipe_throughput",
        "pipe_ping_pong",
    ];

    fn describe(name: &str, seconds: f64) -> String {
        if name.ends_with("throughput") {
            format!(
                "{:.3} million/s ({:.1} ns per item)",
                1.0 / seconds / MILLION,
                seconds * 1e9
            )
        } else {
            format!("{:.2} µs per round trip", seconds * 1e6)
        }
    }

    fn target(name: &str, seconds: f64) -> String {
        let (met, goal) = if name.ends_with("throughput") {
            (1.0 / seconds >= TARGET_RATE, "at least 1,000,000 a second")
        } else {
            (seconds < TARGET_ROUND_TRIP, "under 10 µs")
        };
        format!("{goal}: {}", if met { "met" } else { "MISSED" })
    }

    pub(crate) fn main() {
        println!(
            "process queues and pipes: best of {ROUNDS} rounds; {N} items per throughput round, \
             {ROUND_TRIPS} round trips per ping-pong round (after {WARM_UP} untimed)"
        );
        let amphi = [
            best_of(queue_throughput),
            best_of(queue_ping_pong),
            best_of(pipe_throughput),
            best_of(pipe_ping_pong),
        ];
        for (name, &seconds) in NAMES.iter().zip(&amphi) {
            println!(
                "{name}: amphi {}; target {}",
                describe(name, seconds),
                target(name, seconds)
            );
        }
        let Some(python) = python_figures() else {
            println!("python3 not found (or its script failed): no peer figures");
            return;
        };
        println!(
            "python (multiprocessing, fork): {PYTHON_N} items per throughput round, \
             {PYTHON_ROUND_TRIPS} round trips per ping-pong round"
        );
        for ((name, &ours), &theirs) in NAMES.iter().zip(&amphi).zip(&python) {
            // Time per item (or round trip), amphi / python: below 1, amphi is faster.
            println!(
                "{name}: python {}; amphi / python = {:.3}x ({:.1}x faster)",
                describe(name, theirs),
                ours / theirs,
                theirs / ours
            );
        }
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}

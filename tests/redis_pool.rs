//! The process `Pool` and `Executor` over Redis Streams, against a real `redis-server` started
//! on a Unix socket in a temporary directory (persistence off) and killed at the end, with
//! workers started as local worker processes of this test binary: the map family, `imap`,
//! `apply`, `starmap`, `submit` and `as_completed` on 2-4 workers; a worker SIGKILLed in the
//! middle of a task (another worker claims the task and its result is right); a poison task
//! (it kills every worker that runs it) failing after the delivery limit with
//! `Error::PoisonTask`; a task from another build refused with `Error::WrongBuild`; the
//! server killed and restarted mid-run (the client fails every waiting task with
//! `Error::Redis` at once and is broken, a new client works on the same workers once the
//! server is back); a hundred workers killed at random instants under one stream of tasks
//! (every task has one outcome, right, none lost or hung); a
//! result stream that expires and answered tasks deleted; worker mode by `AMPHI_REDIS_WORKER`.
//! Every test runs under a watchdog, every wait has a timeout.

#![cfg(feature = "redis")]

#[macro_use]
#[allow(unused_macros)]
mod common;
#[path = "common/redis_server.rs"]
mod redis_server;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use amphi::process::{start_redis_worker, Executor, Pool, Process, RedisBuilder, WorkerOptions};
use amphi::thread::as_completed_timeout;
use amphi::Error;
use common::pool::watched;
use common::PATIENCE;
use redis_server::RedisServer;

type Worker = Process<Result<(), String>>;

fn sqr(n: u64) -> u64 {
    n * n
}

fn add(a: u64, b: u64) -> u64 {
    a + b
}

/// The pid of the worker that ran the task, after `millis`.
fn pid_after(millis: u64) -> u32 {
    std::thread::sleep(Duration::from_millis(millis));
    std::process::id()
}

/// Writes this worker's pid to `path`, then sleeps `millis`; the pid.
fn record_then_sleep((path, millis): (PathBuf, u64)) -> u32 {
    let pid = std::process::id();
    std::fs::write(&path, pid.to_string()).expect("write the marker");
    std::thread::sleep(Duration::from_millis(millis));
    pid
}

/// Kills the worker that runs it, every time.
fn die(_: ()) -> u8 {
    std::process::exit(3)
}

fn fail(text: String) -> u8 {
    panic!("{text}")
}

/// `n` workers serving `pool` on `server`, each claiming a silent worker's tasks after
/// `claim_after`.
fn workers(server: &RedisServer, pool: &str, n: usize, options: WorkerOptions) -> Vec<Worker> {
    let options = options.pool(pool);
    let started: Vec<Worker> = (0..n)
        .map(|_| start_redis_worker(&server.url(), &options).expect("start a worker"))
        .collect();
    wait_for_workers(server, pool, n, &started);
    started
}

/// Waits until `n` workers of `pool` are heard from.
fn wait_for_workers(server: &RedisServer, pool: &str, n: usize, started_workers: &[Worker]) {
    let started = Instant::now();
    loop {
        let pool = RedisBuilder::new(server.url())
            .pool(pool)
            .build_pool()
            .expect("connect");
        if pool.size() >= n {
            return;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let ended: Vec<_> = started_workers
                .iter()
                .filter(|worker| !worker.is_alive())
                .map(|worker| worker.join_timeout(PATIENCE))
                .collect();
            panic!(
                "only {} of {n} workers were heard from; ended: {ended:?}",
                pool.size()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn options() -> WorkerOptions {
    WorkerOptions::new().claim_after(Duration::from_millis(800))
}

fn stop(workers: &[Worker]) {
    for worker in workers {
        let _ = worker.kill();
    }
    for worker in workers {
        let _ = worker.join_timeout(PATIENCE);
    }
}

#[test]
fn map_imap_apply_starmap_and_submit_run_on_the_workers() {
    watched(|| {
        let server = RedisServer::start();
        let started = workers(&server, "basics", 3, options());
        let pool = RedisBuilder::new(server.url())
            .pool("basics")
            .build_pool()
            .unwrap();
        assert_eq!(pool.size(), 3, "the size counts the live workers");

        let squares = pool.map(0..200u64, sqr).unwrap();
        assert_eq!(squares, (0..200u64).map(|n| n * n).collect::<Vec<_>>());
        assert_eq!(
            pool.map_chunked(0..7u64, sqr, 3).unwrap(),
            [0, 1, 4, 9, 16, 25, 36]
        );
        assert_eq!(pool.map(Vec::<u64>::new(), sqr).unwrap(), Vec::<u64>::new());
        assert_eq!(pool.apply(sqr, 12).unwrap(), 144);
        let pending: Vec<_> = (0..10u64)
            .map(|n| pool.apply_async(sqr, n).unwrap())
            .collect();
        let values: Vec<u64> = pending
            .iter()
            .map(|result| result.get_timeout(PATIENCE).unwrap())
            .collect();
        assert_eq!(values, (0..10u64).map(|n| n * n).collect::<Vec<_>>());
        let ordered: Vec<u64> = pool
            .imap(0..30u64, sqr)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(ordered, (0..30u64).map(|n| n * n).collect::<Vec<_>>());
        let mut unordered: Vec<u64> = pool
            .imap_unordered_chunked(0..30u64, sqr, 4)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        unordered.sort_unstable();
        assert_eq!(unordered, ordered);
        assert_eq!(pool.starmap(vec![(1, 2), (3, 4)], add).unwrap(), [3, 7]);

        // A panic is the task's error, naming the worker; the worker goes on.
        match pool.apply(fail, "broken input".to_owned()) {
            Err(Error::Panicked(report)) => {
                assert_eq!(report.message, "broken input");
                assert!(report.thread.starts_with("worker-"), "{report:?}");
            }
            other => panic!("expected a panic, got {other:?}"),
        }

        // Slow tasks spread over the workers.
        let pids: BTreeSet<u32> = pool
            .map_chunked(vec![150u64; 9], pid_after, 1)
            .unwrap()
            .into_iter()
            .collect();
        let worker_pids: BTreeSet<u32> = started.iter().filter_map(|w| w.pid()).collect();
        assert!(
            pids.is_subset(&worker_pids),
            "{pids:?} not among {worker_pids:?}"
        );
        assert!(
            pids.len() >= 2,
            "nine slow tasks ran on one worker: {pids:?}"
        );

        pool.close();
        pool.join_timeout(PATIENCE).unwrap();
        assert_eq!(pool.apply_async(sqr, 1).err(), Some(Error::PoolClosed));

        let executor = RedisBuilder::new(server.url())
            .pool("basics")
            .build_executor()
            .unwrap();
        let futures: Vec<_> = (1..=8u64)
            .map(|n| executor.submit(sqr, n).unwrap())
            .collect();
        let mut done: Vec<u64> = as_completed_timeout(&futures, PATIENCE)
            .map(|future| future.unwrap().result().unwrap())
            .collect();
        done.sort_unstable();
        assert_eq!(done, [1, 4, 9, 16, 25, 36, 49, 64]);
        let mapped: Vec<u64> = executor
            .map(1..=4u64, sqr)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(mapped, [1, 4, 9, 16]);
        executor.shutdown_timeout(PATIENCE, false).unwrap();
        stop(&started);
    });
}

#[test]
fn a_task_of_a_killed_worker_completes_on_another() {
    watched(|| {
        let server = RedisServer::start();
        let started = workers(&server, "killed", 2, options());
        let pool = RedisBuilder::new(server.url())
            .pool("killed")
            .build_pool()
            .unwrap();
        let marker =
            std::env::temp_dir().join(format!("amphi-redis-marker-{}", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let result = pool
            .apply_async(record_then_sleep, (marker.clone(), 1500))
            .unwrap();
        let since = Instant::now();
        let victim: u32 = loop {
            if let Ok(text) = std::fs::read_to_string(&marker) {
                if let Ok(pid) = text.trim().parse() {
                    break pid;
                }
            }
            assert!(since.elapsed() < PATIENCE, "the task never started");
            std::thread::sleep(Duration::from_millis(10));
        };
        let killed = started
            .iter()
            .find(|worker| worker.pid() == Some(victim))
            .expect("the task runs on one of the workers");
        killed.kill().unwrap();
        let survivor = result.get_timeout(PATIENCE).unwrap();
        assert_ne!(survivor, victim, "the result came from the killed worker");
        assert!(started.iter().any(|worker| worker.pid() == Some(survivor)));
        assert_eq!(pool.apply(sqr, 9).unwrap(), 81, "the pool goes on");
        let _ = std::fs::remove_file(&marker);
        stop(&started);
    });
}

#[test]
fn a_poison_task_fails_after_the_delivery_limit() {
    watched(|| {
        let server = RedisServer::start();
        let limit = 2;
        let started = workers(
            &server,
            "poison",
            limit as usize + 1,
            options()
                .claim_after(Duration::from_millis(400))
                .max_deliveries(limit),
        );
        let pool = RedisBuilder::new(server.url())
            .pool("poison")
            .build_pool()
            .unwrap();
        match pool.apply_async(die, ()).unwrap().get_timeout(PATIENCE) {
            Err(Error::PoisonTask {
                deliveries,
                limit: reported,
                worker,
            }) => {
                assert_eq!(deliveries, limit + 1);
                assert_eq!(reported, limit);
                assert!(worker.starts_with("worker-"), "{worker}");
            }
            other => panic!("expected a poison task, got {other:?}"),
        }
        let dead = started.iter().filter(|worker| !worker.is_alive()).count();
        assert_eq!(
            dead, limit as usize,
            "each delivery but the refused one killed a worker"
        );
        assert_eq!(
            pool.apply(sqr, 5).unwrap(),
            25,
            "the last worker still serves"
        );
        stop(&started);
    });
}

#[test]
fn a_task_of_another_build_is_refused() {
    watched(|| {
        let server = RedisServer::start();
        let started = workers(&server, "build", 2, options());
        let foreign = "0".repeat(64);
        let pool = RedisBuilder::new(server.url())
            .pool("build")
            .claimed_build(foreign.clone())
            .build_pool()
            .unwrap();
        let error = pool.apply(sqr, 3).unwrap_err();
        match &error {
            Error::WrongBuild {
                task_build,
                worker_build,
                ..
            } => {
                assert_eq!(task_build, &foreign);
                assert_eq!(worker_build.len(), 64, "a SHA-256 digest: {worker_build}");
                assert_ne!(worker_build, &foreign);
            }
            other => panic!("expected a refusal, got {other:?}"),
        }
        let text = error.to_string();
        assert!(
            text.contains(&foreign) && text.contains("same executable"),
            "{text}"
        );
        let genuine = RedisBuilder::new(server.url())
            .pool("build")
            .build_pool()
            .unwrap();
        assert_eq!(genuine.apply(sqr, 3).unwrap(), 9, "the workers still serve");
        stop(&started);
    });
}

#[test]
fn a_server_restarted_mid_run_fails_the_waiting_tasks_and_workers_come_back() {
    watched(|| {
        let mut server = RedisServer::start();
        let started = workers(&server, "restart", 2, options());
        let pool = RedisBuilder::new(server.url())
            .pool("restart")
            .build_pool()
            .unwrap();
        assert_eq!(pool.apply(sqr, 2).unwrap(), 4);
        let waiting: Vec<_> = (0..4)
            .map(|_| pool.apply_async(pid_after, 2000).unwrap())
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        server.restart();
        for result in &waiting {
            match result.get_timeout(PATIENCE) {
                Err(Error::Redis(reason)) => {
                    assert!(reason.contains("lost"), "{reason}");
                }
                other => panic!("expected the connection's loss, got {other:?}"),
            }
        }
        assert!(
            matches!(pool.apply_async(sqr, 1), Err(Error::BrokenPool(_))),
            "a client that lost its server is broken"
        );
        pool.terminate();
        pool.join_timeout(PATIENCE).unwrap();
        // The workers reconnect to the new server and serve a new client.
        let again = RedisBuilder::new(server.url())
            .pool("restart")
            .size(2)
            .build_pool()
            .unwrap();
        let result = again.apply_async(sqr, 7).unwrap();
        assert_eq!(result.get_timeout(PATIENCE).unwrap(), 49);
        stop(&started);
    });
}

#[test]
fn connecting_to_no_server_is_a_clear_error() {
    watched(|| {
        let dir = std::env::temp_dir().join(format!("amphi-no-redis-{}", std::process::id()));
        let url = format!("redis+unix://{}/nothing.sock", dir.display());
        match Pool::connect(&url) {
            Err(Error::Redis(reason)) => assert!(reason.contains("cannot reach"), "{reason}"),
            other => panic!("expected Error::Redis, got {other:?}"),
        }
        assert!(matches!(
            Executor::connect("not a url"),
            Err(Error::Redis(_))
        ));
    });
}

/// How many workers the random-kill test kills, one per trial (`AMPHI_KILL_TRIALS` overrides).
fn random_kill_trials() -> u32 {
    common::kill_trials(100, 100)
}

/// One server, one pool of four workers and one stream of tasks (`imap_unordered` over an
/// input that lasts until the last trial) serve every trial; each trial sleeps a random while
/// (0-250 ms), SIGKILLs a random worker and starts its replacement. Every task started records
/// itself in its worker's marker file, so each victim's last task, the one it ran when killed,
/// is known. Checked: every task submitted has exactly one outcome, its right square or a
/// typed error (a task killed more than `max_deliveries` times is a poison task), none lost,
/// none hung (each result within `PATIENCE`, the whole under the watchdog), and the kills did
/// land in the middle of tasks that then completed on another worker.
#[test]
fn workers_killed_at_random_instants_lose_no_result() {
    watched(|| {
        const WORKERS: usize = 4;
        let began = Instant::now();
        let trials = random_kill_trials();
        let server = RedisServer::start();
        let options = || options().claim_after(Duration::from_millis(300));
        let mut started = workers(&server, "random", WORKERS, options());
        let pool = RedisBuilder::new(server.url())
            .pool("random")
            .size(WORKERS)
            .build_pool()
            .unwrap();
        let markers =
            std::env::temp_dir().join(format!("amphi-random-kill-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&markers);
        std::fs::create_dir_all(&markers).unwrap();

        let feeding = Arc::new(AtomicBool::new(true));
        let submitted = Arc::new(AtomicU64::new(0));
        let input = {
            let (feeding, submitted, markers) = (
                Arc::clone(&feeding),
                Arc::clone(&submitted),
                markers.clone(),
            );
            (0u64..)
                .take_while(move |_| feeding.load(Ordering::Acquire))
                .inspect(move |_| {
                    submitted.fetch_add(1, Ordering::Relaxed);
                })
                .map(move |n| (markers.clone(), n))
        };
        let mut results = pool.imap_unordered(input, marked_square).unwrap();

        let killer = {
            let url = server.url();
            let feeding = Arc::clone(&feeding);
            amphi::Thread::spawn(move || {
                let mut seed = u64::from(std::process::id()) | 1;
                let mut random = move |below: u64| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed % below
                };
                let mut victims = Vec::new();
                for _ in 0..trials {
                    std::thread::sleep(Duration::from_millis(random(250)));
                    let victim = random(started.len() as u64) as usize;
                    victims.push(started[victim].pid().expect("a started worker has a pid"));
                    started[victim].kill().unwrap();
                    let _ = started[victim].join_timeout(PATIENCE);
                    started[victim] = start_redis_worker(&url, &options().pool("random"))
                        .expect("start a replacement worker");
                }
                feeding.store(false, Ordering::Release);
                (victims, started)
            })
            .unwrap()
        };

        let mut ran_on = std::collections::HashMap::new();
        let mut typed_errors = 0u64;
        while let Some(outcome) = results.next_timeout(PATIENCE) {
            match outcome {
                Ok((n, square, pid)) => {
                    assert_eq!(square, n * n, "task {n}: the right square");
                    assert!(
                        ran_on.insert(n, pid).is_none(),
                        "task {n}: one result, not two"
                    );
                }
                Err(Error::PoisonTask { .. }) => typed_errors += 1,
                Err(other) => panic!("a task lost or failed untyped: {other:?}"),
            }
        }
        let (victims, started) = killer.join_timeout(PATIENCE).unwrap();
        let submitted = submitted.load(Ordering::Relaxed);
        assert_eq!(
            ran_on.len() as u64 + typed_errors,
            submitted,
            "every task submitted has one outcome: {} results, {typed_errors} typed errors",
            ran_on.len()
        );

        // Each victim's last task started, the one it ran when it was killed (unless it had
        // just answered it): completed once (on another worker if the kill interrupted it),
        // or one of the typed errors.
        let mut interrupted = 0;
        for victim in &victims {
            let Ok(text) = std::fs::read_to_string(markers.join(victim.to_string())) else {
                continue; // killed before it started a task
            };
            let Some(last) = text.lines().last() else {
                continue;
            };
            let n: u64 = last.parse().expect("a marker is a task's number");
            match ran_on.get(&n) {
                Some(pid) if pid != victim => interrupted += 1,
                Some(_) => {}
                None => assert!(
                    typed_errors > 0,
                    "task {n}, killed with worker {victim}, has no outcome"
                ),
            }
        }
        assert!(
            interrupted > 0,
            "no kill of {trials} interrupted a task: the test did not test"
        );
        eprintln!(
            "{trials} workers killed at random instants: {submitted} tasks, {interrupted} \
             interrupted and completed on another worker, {typed_errors} poison tasks, in {:?}",
            began.elapsed()
        );
        stop(&started);
        let _ = std::fs::remove_dir_all(&markers);
    });
}

/// Records task `n` in this worker's marker file (`dir/PID`), then squares it a little slowly,
/// so kills land in the middle of tasks: `(n, n * n, pid)`.
fn marked_square((dir, n): (PathBuf, u64)) -> (u64, u64, u32) {
    use std::io::Write;
    let pid = std::process::id();
    let mut marker = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(pid.to_string()))
        .expect("open the marker file");
    writeln!(marker, "{n}").expect("record the task");
    std::thread::sleep(Duration::from_millis(15));
    (n, n * n, pid)
}

#[test]
fn a_program_started_with_amphi_redis_worker_serves_instead_of_main() {
    watched(|| {
        let server = RedisServer::start();
        // This test binary itself, in worker mode: its `main` (the test harness) never runs.
        let mut worker = std::process::Command::new(std::env::current_exe().unwrap())
            .env("AMPHI_REDIS_WORKER", server.url())
            .env("AMPHI_REDIS_POOL", "by-environment")
            .arg("--list")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pool = RedisBuilder::new(server.url())
            .pool("by-environment")
            .size(1)
            .build_pool()
            .unwrap();
        let result = pool.apply_async(pid_after, 0).unwrap();
        assert_eq!(result.get_timeout(PATIENCE).unwrap(), worker.id());
        let _ = worker.kill();
        let output = worker.wait_with_output().unwrap();
        assert!(
            output.stdout.is_empty(),
            "the test harness ran: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    });
}

/// Runs `redis-cli` on `server` with `args`; its output, trimmed.
fn redis_cli(server: &RedisServer, args: &[&str]) -> String {
    let output = std::process::Command::new("redis-cli")
        .arg("-s")
        .arg(server.socket())
        .args(args)
        .output()
        .expect("redis-cli runs (it comes with redis-server)");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn results_expire_and_acknowledged_tasks_are_deleted() {
    watched(|| {
        let server = RedisServer::start();
        let started = workers(&server, "expiry", 2, options());
        let pool = RedisBuilder::new(server.url())
            .pool("expiry")
            .result_ttl(Duration::from_secs(2))
            .build_pool()
            .unwrap();
        assert_eq!(pool.map_chunked(0..20u64, sqr, 1).unwrap().len(), 20);
        let streams = redis_cli(&server, &["--scan", "--pattern", "amphi:expiry:results:*"]);
        let stream = streams
            .lines()
            .next()
            .expect("the client's result stream exists");
        let ttl: i64 = redis_cli(&server, &["PTTL", stream]).parse().unwrap();
        assert!(
            ttl > 0 && ttl <= 2000,
            "the result stream expires: PTTL {ttl}"
        );
        assert_eq!(
            redis_cli(&server, &["XLEN", "amphi:expiry:tasks"]),
            "0",
            "answered tasks are deleted from the task stream"
        );
        // A client that reads nothing more leaves nothing once the expiry has passed.
        let since = Instant::now();
        while redis_cli(&server, &["EXISTS", stream]) != "0" {
            assert!(
                since.elapsed() < PATIENCE,
                "the result stream never expired"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // A client that ends deletes its stream at once.
        assert_eq!(pool.apply(sqr, 4).unwrap(), 16);
        pool.close();
        pool.join_timeout(PATIENCE).unwrap();
        assert_eq!(
            redis_cli(&server, &["--scan", "--pattern", "amphi:expiry:results:*"]),
            "",
            "a client that ended left its result stream"
        );
        stop(&started);
    });
}

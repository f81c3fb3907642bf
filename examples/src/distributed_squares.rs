//! `distributed-squares`: a process [`Pool`](amphi::process::Pool) and
//! [`Executor`](amphi::process::Executor) over Redis, whose workers could be on other machines
//! (here three local worker processes serve it): squares of 0..12 with `map`, each task
//! reporting the pid of the worker that ran it, then `submit` + `as_completed`.
//!
//! The server is the one `$AMPHI_REDIS` names (`redis://host:port/db` or
//! `redis+unix:///path`) when it is set; else a `redis-server` started here
//! ([`LocalRedisServer`](amphi::process::LocalRedisServer): on a Unix socket in a temporary
//! directory, persistence off, killed at the end); else the example fails
//! with a message saying how to get one. Each run serves its own pool name, so workers of
//! other runs on the same server never take its tasks, unless `$AMPHI_REDIS_POOL` names a
//! pool that workers on other machines serve too (`amphi worker URL --pool NAME`). Native only (feature `redis`): in the
//! browser it reports that.
//!
//! Checks: every square is right, every task ran on one of this run's workers (never on the
//! parent), more than one worker took part, and the executor's futures all completed right.

/// Runs the example natively.
#[cfg(feature = "redis")]
pub(super) use native::run;

/// Reports that the example is native only.
#[cfg(not(feature = "redis"))]
pub(super) fn run(_: &mut crate::Run) -> Result<(), amphi::Error> {
    Err(amphi::Error::Unsupported(
        "distributed-squares is native only: it needs a Redis server and amphi's `redis` \
         feature (run it with the amphi CLI: `amphi run distributed-squares`)"
            .to_owned(),
    ))
}

/// Serves the pool `pool` on the Redis server at `url` in this process until it stops: what
/// `amphi worker URL` runs.
#[cfg(feature = "redis")]
pub fn serve(url: &str, pool: &str) -> Result<(), amphi::Error> {
    amphi::process::redis_worker(url, &amphi::process::WorkerOptions::new().pool(pool))
}

/// Without the `redis` feature there is no worker to serve.
#[cfg(not(feature = "redis"))]
pub fn serve(_: &str, _: &str) -> Result<(), amphi::Error> {
    Err(amphi::Error::Unsupported(
        "Redis workers are native only (amphi's `redis` feature)".to_owned(),
    ))
}

#[cfg(feature = "redis")]
mod native {
    use std::collections::BTreeSet;
    use std::time::{Duration, Instant};

    use crate::Run;
    use amphi::process::{
        current_process, start_redis_worker, LocalRedisServer, Process, RedisBuilder, WorkerOptions,
    };
    use amphi::thread::as_completed_timeout;
    use amphi::Error;

    const WORKERS: usize = 3;
    const TASKS: u64 = 12;
    const PATIENCE: Duration = Duration::from_secs(60);

    /// The task: `n`'s square and the pid of the worker that computed it (a little slow, so
    /// the tasks spread over the workers).
    fn square_on_worker(n: u64) -> (u64, u64, u32) {
        std::thread::sleep(Duration::from_millis(100));
        (n, n * n, current_process().pid)
    }

    pub(in super::super) fn run(run: &mut Run) -> Result<(), Error> {
        let server = Server::find()?;
        let url = server.url.clone();
        run.line(format!("Redis: {} ({})", url, server.origin));
        // A pool of its own, unless `$AMPHI_REDIS_POOL` names one that workers on other
        // machines (`amphi worker URL --pool NAME`) serve too.
        let shared_pool = std::env::var("AMPHI_REDIS_POOL").ok();
        let pool_name = shared_pool
            .clone()
            .unwrap_or_else(|| format!("distributed-squares-{}", current_process().pid));
        let options = WorkerOptions::new()
            .pool(&pool_name)
            .claim_after(Duration::from_secs(5));
        let workers = (0..WORKERS)
            .map(|_| start_redis_worker(&url, &options))
            .collect::<Result<Vec<_>, _>>()?;
        let outcome = serve_and_check(run, &url, &pool_name, &workers, shared_pool.is_some());
        for worker in &workers {
            let _ = worker.terminate();
        }
        for worker in &workers {
            let _ = worker.join_timeout(PATIENCE);
        }
        drop(server);
        outcome
    }

    fn serve_and_check(
        run: &mut Run,
        url: &str,
        pool_name: &str,
        workers: &[Process<Result<(), String>>],
        shared_pool: bool,
    ) -> Result<(), Error> {
        let worker_pids: BTreeSet<u32> = workers.iter().filter_map(Process::pid).collect();
        run.line(format!(
            "{WORKERS} workers serve pool '{pool_name}': pids {worker_pids:?}"
        ));
        wait_for_workers(url, pool_name)?;
        let pool = RedisBuilder::new(url)
            .pool(pool_name)
            .size(WORKERS)
            .build_pool()?;
        let results = pool.map_chunked(0..TASKS, square_on_worker, 1)?;
        for (n, square, pid) in &results {
            run.line(format!(
                "task {n}: {n}² = {square}, run by worker pid {pid}"
            ));
        }
        let right = results
            .iter()
            .enumerate()
            .all(|(i, (n, square, _))| *n == i as u64 && *square == n * n);
        run.check(
            "every square is right, in order",
            right && results.len() == TASKS as usize,
            format!("{} results", results.len()),
        );
        let used: BTreeSet<u32> = results.iter().map(|(_, _, pid)| *pid).collect();
        // Workers of other machines may serve a shared pool too.
        let on_workers = shared_pool || used.is_subset(&worker_pids);
        run.check(
            "every task ran on one of the workers, never on the parent",
            on_workers && !used.contains(&current_process().pid),
            format!("pids used {used:?}, local workers {worker_pids:?}"),
        );
        run.check(
            "more than one worker took part",
            used.len() > 1,
            format!("{} workers ran tasks", used.len()),
        );
        pool.close();
        pool.join_timeout(PATIENCE)?;

        let executor = RedisBuilder::new(url)
            .pool(pool_name)
            .size(WORKERS)
            .build_executor()?;
        let futures = (1..=5u64)
            .map(|n| executor.submit(square_on_worker, n))
            .collect::<Result<Vec<_>, _>>()?;
        let mut completed = Vec::new();
        for future in as_completed_timeout(&futures, PATIENCE) {
            let (n, square, pid) = future?.result()?;
            run.line(format!(
                "submit({n}) completed: {square} on worker pid {pid}"
            ));
            completed.push(square);
        }
        completed.sort_unstable();
        run.check(
            "submit + as_completed: every future completed right",
            completed == [1, 4, 9, 16, 25],
            format!("{completed:?}"),
        );
        executor.shutdown_timeout(PATIENCE, false)?;
        Ok(())
    }

    /// Waits until the workers' heartbeats are all live.
    fn wait_for_workers(url: &str, pool_name: &str) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            let heard = RedisBuilder::new(url).pool(pool_name).build_pool()?.size();
            if heard >= WORKERS {
                return Ok(());
            }
            if started.elapsed() > PATIENCE {
                return Err(Error::Redis(format!(
                    "only {heard} of {WORKERS} workers started serving within {PATIENCE:?}"
                )));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The Redis server the example uses, and the one it started, if any (killed on drop).
    struct Server {
        url: String,
        origin: &'static str,
        /// Kept for its drop, which kills the server started here.
        _started: Option<LocalRedisServer>,
    }

    impl Server {
        fn find() -> Result<Server, Error> {
            if let Ok(url) = std::env::var("AMPHI_REDIS") {
                return Ok(Server {
                    url,
                    origin: "from $AMPHI_REDIS",
                    _started: None,
                });
            }
            let started = LocalRedisServer::start().map_err(|err| match err {
                Error::Unsupported(reason) => Error::Unsupported(format!(
                    "no Redis server: set AMPHI_REDIS to one (redis://host:port/db), or \
                     install redis-server so the example can start its own ({reason})"
                )),
                other => other,
            })?;
            Ok(Server {
                url: started.url(),
                origin: "a redis-server started for this run",
                _started: Some(started),
            })
        }
    }
}

//! [`LocalRedisServer`]: a private `redis-server` for one program, for the pools over Redis on
//! a single machine, their tests and examples, with no server to set up.
//!
//! The server listens on a Unix socket only (no TCP port), in a temporary directory of its
//! own, with persistence off; [`start`](LocalRedisServer::start) returns once it answers
//! `PING`. It is killed (and its directory removed) when the value drops; a guard (a `sh`
//! loop watching this process) kills it within a second if this process ends without
//! dropping it (killed, or ended by `exit`), so no server outlives its program.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;

/// How long a fresh server may take to answer its first `PING`.
const START_PATIENCE: Duration = Duration::from_secs(20);

/// A `redis-server` started for this program on a Unix socket, killed when dropped (see the
/// module docs of `redis`, and [`RedisBuilder`](super::RedisBuilder) to use it).
///
/// # Examples
///
/// ```no_run
/// use amphi::process::{start_redis_worker, LocalRedisServer, RedisBuilder, WorkerOptions};
/// fn square(n: u64) -> u64 {
///     n * n
/// }
/// let server = LocalRedisServer::start()?;
/// let worker = start_redis_worker(&server.url(), &WorkerOptions::new())?;
/// let pool = RedisBuilder::new(server.url()).size(1).build_pool()?;
/// assert_eq!(pool.map(1..=3u64, square)?, [1, 4, 9]);
/// worker.terminate()?;
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug)]
pub struct LocalRedisServer {
    /// The server and its guard, while they run.
    running: Option<(Child, Option<Child>)>,
    dir: PathBuf,
}

impl LocalRedisServer {
    /// Starts a server and waits until it answers. [`Error::Unsupported`] if `redis-server`
    /// cannot be started (not installed: the message says how to get it), [`Error::Redis`] if
    /// it does not answer within 20 s.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let server = amphi::process::LocalRedisServer::start()?;
    /// assert!(server.url().starts_with("redis+unix://"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn start() -> Result<LocalRedisServer, Error> {
        let dir = std::env::temp_dir().join(format!(
            "amphi-redis-{}-{}",
            std::process::id(),
            next_number()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|err| {
            Error::Unsupported(format!(
                "cannot create a directory for redis-server ({}): {err}",
                dir.display()
            ))
        })?;
        let mut server = LocalRedisServer { running: None, dir };
        server.launch()?;
        Ok(server)
    }

    /// The path of the server's Unix socket.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let server = amphi::process::LocalRedisServer::start()?;
    /// assert!(server.socket().ends_with("redis.sock"));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// The URL pools and workers connect to (`redis+unix:///…/redis.sock`).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let server = amphi::process::LocalRedisServer::start()?;
    /// let pool = amphi::process::Pool::connect(&server.url())?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Kills the server (SIGKILL: it loses its data, as a crash does) and waits for it to
    /// end; [`restart`](LocalRedisServer::restart) starts it again. Idempotent.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let mut server = amphi::process::LocalRedisServer::start()?;
    /// server.kill();
    /// assert!(amphi::process::Pool::connect(&server.url()).is_err());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn kill(&mut self) {
        if let Some((mut server, guard)) = self.running.take() {
            if let Some(mut guard) = guard {
                let _ = guard.kill();
                let _ = guard.wait();
            }
            let _ = server.kill();
            let _ = server.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Kills the server and starts a fresh, empty one on the same socket: a server restarted
    /// without persistence. The errors of [`start`](LocalRedisServer::start).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let mut server = amphi::process::LocalRedisServer::start()?;
    /// server.restart()?;
    /// amphi::process::Pool::connect(&server.url())?;
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn restart(&mut self) -> Result<(), Error> {
        self.kill();
        self.launch()
    }

    /// Starts the server and its guard, and waits for its `PING`.
    fn launch(&mut self) -> Result<(), Error> {
        let socket = self.socket();
        let server = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|err| {
                Error::Unsupported(format!(
                    "cannot start redis-server ({err}): install it (Debian: apt-get install \
                     redis-server), or use a server of your own"
                ))
            })?;
        // Best effort: without a guard the server still ends when dropped.
        let guard = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -9 {}",
                std::process::id(),
                server.id()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        self.running = Some((server, guard));
        let started = Instant::now();
        while !answers_ping(&self.url()) {
            if started.elapsed() > START_PATIENCE {
                self.kill();
                return Err(Error::Redis(format!(
                    "the redis-server started on {} did not answer PING within \
                     {START_PATIENCE:?}",
                    socket.display()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

impl Drop for LocalRedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a server answers `PING` at `url`, within a second.
fn answers_ping(url: &str) -> bool {
    let Ok(client) = redis::Client::open(url) else {
        return false;
    };
    let Ok(mut connection) = client.get_connection_with_timeout(Duration::from_secs(1)) else {
        return false;
    };
    if connection
        .set_read_timeout(Some(Duration::from_secs(1)))
        .is_err()
    {
        return false;
    }
    redis::cmd("PING")
        .query::<String>(&mut connection)
        .is_ok_and(|answer| answer == "PONG")
}

/// A number that differs between the servers one process starts.
fn next_number() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

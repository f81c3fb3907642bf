//! A real `redis-server` for the tests of the pools over Redis: started on a Unix socket in a
//! temporary directory of its own, with persistence off, ready once it answers `PING`, and
//! killed by its pid (and its directory removed) when dropped. `restart` kills it and starts
//! a fresh one on the same socket, as a server restarted without persistence. A guard (a `sh`
//! loop) kills the server within a second if this process ends without dropping it (a test
//! that hung past its watchdog, a killed run), so no server outlives the tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first `PING`.
const START_PATIENCE: Duration = Duration::from_secs(20);

/// A running `redis-server` (see the module docs).
pub(crate) struct RedisServer {
    child: Option<Child>,
    guard: Option<Child>,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server; panics with a clear message if `redis-server` is not installed (the
    /// set-up script installs it) or does not answer in time.
    pub(crate) fn start() -> RedisServer {
        let dir =
            std::env::temp_dir().join(format!("amphi-redis-{}-{}", std::process::id(), unique()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the server's directory");
        let mut server = RedisServer {
            child: None,
            guard: None,
            dir,
        };
        server.launch();
        server
    }

    /// The socket's path.
    pub(crate) fn socket(&self) -> PathBuf {
        self.dir.join("redis.sock")
    }

    /// The URL clients and workers use.
    pub(crate) fn url(&self) -> String {
        format!("redis+unix://{}", self.socket().display())
    }

    /// Kills the server (SIGKILL) and waits for it to end.
    pub(crate) fn kill(&mut self) {
        if let Some(mut guard) = self.guard.take() {
            let _ = guard.kill();
            let _ = guard.wait();
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(self.socket());
    }

    /// Kills the server and starts a fresh one (empty) on the same socket.
    pub(crate) fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    fn launch(&mut self) {
        let socket = self.socket();
        let child = Command::new("redis-server")
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
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start redis-server ({err}): install it (Debian: apt-get install \
                     redis-server; scripts/setup.sh does)"
                )
            });
        let guard = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -9 {}",
                std::process::id(),
                child.id()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok();
        self.child = Some(child);
        self.guard = guard;
        let started = Instant::now();
        while !ping(&socket) {
            if started.elapsed() > START_PATIENCE {
                panic!("redis-server did not answer PING within {START_PATIENCE:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether a server answers `PING` on `socket`.
fn ping(socket: &Path) -> bool {
    let Ok(mut stream) = UnixStream::connect(socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut answer = [0u8; 7];
    stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}

/// A number that differs between the servers one test process starts.
fn unique() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

//! The tests' `redis-server`: amphi's [`LocalRedisServer`] (a server on a Unix socket in a
//! temporary directory of its own, persistence off, killed when dropped, and within a second
//! by its guard if the test process ends without dropping it), whose failures to start panic
//! with its message (it says how to install `redis-server`; the set-up script does).

#![allow(dead_code)]

use std::path::PathBuf;

use amphi::process::LocalRedisServer;

/// A running `redis-server` (see the module docs).
pub(crate) struct RedisServer(LocalRedisServer);

impl RedisServer {
    /// Starts a server, ready once it answers `PING`.
    pub(crate) fn start() -> RedisServer {
        RedisServer(LocalRedisServer::start().unwrap_or_else(|err| panic!("{err}")))
    }

    /// The socket's path.
    pub(crate) fn socket(&self) -> PathBuf {
        self.0.socket()
    }

    /// The URL clients and workers use.
    pub(crate) fn url(&self) -> String {
        self.0.url()
    }

    /// Kills the server (SIGKILL) and waits for it to end.
    pub(crate) fn kill(&mut self) {
        self.0.kill();
    }

    /// Kills the server and starts a fresh one (empty) on the same socket.
    pub(crate) fn restart(&mut self) {
        self.0
            .restart()
            .unwrap_or_else(|err| panic!("restarting redis-server: {err}"));
    }
}

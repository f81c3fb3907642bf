//! The manager against Python's `multiprocessing.Manager()`, measured in the same run:
//!
//! - start-up: `Manager::start` until its first `dict()` returned (the server up and
//!   answering), against Python's `Manager()` and its first `dict()`;
//! - a dict proxy's round trip: `get` and `insert` of a small entry, against Python's `d[k]`
//!   and `d[k] = v` on a `DictProxy`;
//! - the same round trips over a socket, a Unix socket and TCP on the loopback: a manager
//!   served by a process of its own (`Manager::listen` in an amphi child) and reached with
//!   `Manager::connect`, against Python's `SyncManager(address, authkey)` started and reached
//!   over the same kind of socket; and a served lock's `acquire` + `release` pair against
//!   Python's `manager.Lock()`.
//!
//! Python runs from `benches/peers/python_manager.py` with `python3` (skipped with a note if
//! there is none). Run with `cargo bench --bench manager` (native only: on wasm32 this is an
//! empty `main`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::process::Command;

    use amphi::process::connection::{Address, AuthKey};
    use amphi::process::{Manager, Process, SocketManager};
    use amphi::time::Instant;

    const STARTS: u32 = 10;
    const CALLS: u32 = 50_000;
    const PYTHON_CALLS: u32 = 5_000;
    const SOCKET_CALLS: u32 = 10_000;

    fn seconds(f: impl FnOnce()) -> f64 {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64()
    }

    /// Best of 3 runs of `f`, per call.
    fn per_call(calls: u32, mut f: impl FnMut()) -> f64 {
        (0..3).map(|_| seconds(&mut f)).fold(f64::MAX, f64::min) / f64::from(calls)
    }

    struct Figures {
        start: f64,
        get: f64,
        set: f64,
    }

    fn amphi_figures() -> Figures {
        let start = (0..STARTS)
            .map(|_| {
                let mut manager = None;
                let elapsed = seconds(|| {
                    let started = Manager::start().expect("a manager");
                    started.dict::<u32, u32>().expect("a dict");
                    manager = Some(started);
                });
                manager.expect("started").shutdown().expect("shutdown");
                elapsed
            })
            .fold(f64::MAX, f64::min);
        let manager = Manager::start().expect("a manager");
        let dict = manager
            .dict_from(&(0..16u32).map(|n| (n, n)).collect::<Vec<_>>())
            .expect("a dict");
        let get = per_call(CALLS, || {
            for n in 0..CALLS {
                dict.get(&(n % 16)).expect("get");
            }
        });
        let set = per_call(CALLS, || {
            for n in 0..CALLS {
                dict.insert(&(n % 16), &n).expect("insert");
            }
        });
        manager.shutdown().expect("shutdown");
        Figures { start, get, set }
    }

    fn python_figures() -> Option<Figures> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/peers/python_manager.py"
        );
        let output = Command::new("python3")
            .arg(script)
            .args([STARTS, PYTHON_CALLS].map(|n| n.to_string()))
            .output()
            .ok()?;
        let figures: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let get = |name: &str| figures[name].as_f64();
        Some(Figures {
            start: get("start")?,
            get: get("get")?,
            set: get("set")?,
        })
    }

    /// A socket transport's figures: dict get, dict insert, lock acquire + release.
    struct SocketFigures {
        get: f64,
        set: f64,
        lock: f64,
    }

    /// Serves a manager at `address` with `key` until a client shuts it down.
    fn serve(shared: (String, Vec<u8>)) {
        let (address, key) = shared;
        let key = AuthKey::new(key).expect("a key");
        let manager = Manager::listen(&address.parse().expect("an address"), &key).expect("listen");
        manager.wait_for_shutdown().expect("served");
    }

    fn connect_when_up(address: &Address, key: &AuthKey) -> SocketManager {
        for _ in 0..1000 {
            if let Ok(manager) = Manager::connect(address, key) {
                return manager;
            }
            amphi::thread::sleep(std::time::Duration::from_millis(5)).expect("sleep");
        }
        panic!("the manager at {address} never listened")
    }

    fn amphi_socket_figures(kind: &str) -> SocketFigures {
        let address: Address = match kind {
            "unix" => Address::unix(
                std::env::temp_dir()
                    .join(format!("amphi-bench-manager-{}.sock", std::process::id())),
            ),
            // A fixed port: the server is another process, which must be told where.
            _ => format!("tcp://127.0.0.1:{}", 20_000 + std::process::id() % 20_000)
                .parse()
                .expect("an address"),
        };
        let key = AuthKey::random().expect("a key");
        let server = Process::new(serve, (address.to_string(), key.as_bytes().to_vec()));
        server.start().expect("a server process");
        let manager = connect_when_up(&address, &key);
        let dict = manager
            .dict_from(&(0..16u32).map(|n| (n, n)).collect::<Vec<_>>())
            .expect("a dict");
        let lock = manager.lock().expect("a lock");
        let get = per_call(SOCKET_CALLS, || {
            for n in 0..SOCKET_CALLS {
                dict.get(&(n % 16)).expect("get");
            }
        });
        let set = per_call(SOCKET_CALLS, || {
            for n in 0..SOCKET_CALLS {
                dict.insert(&(n % 16), &n).expect("insert");
            }
        });
        let locked = per_call(SOCKET_CALLS, || {
            for _ in 0..SOCKET_CALLS {
                lock.acquire().expect("acquire");
                lock.release().expect("release");
            }
        });
        manager.shutdown().expect("shutdown");
        server.join().expect("the server ended");
        SocketFigures {
            get,
            set,
            lock: locked,
        }
    }

    fn python_socket_figures(kind: &str) -> Option<SocketFigures> {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/peers/python_manager.py"
        );
        let output = Command::new("python3")
            .arg(script)
            .args(["socket", kind, &PYTHON_CALLS.to_string()])
            .output()
            .ok()?;
        let figures: serde_json::Value = serde_json::from_slice(&output.stdout).ok()?;
        let get = |name: &str| figures[name].as_f64();
        Some(SocketFigures {
            get: get("get")?,
            set: get("set")?,
            lock: get("lock")?,
        })
    }

    fn socket_main() {
        for kind in ["unix", "tcp"] {
            let amphi = amphi_socket_figures(kind);
            println!(
                "socket_{kind}: amphi get {:.2} us, insert {:.2} us, lock acquire+release {:.2} us",
                amphi.get * 1e6,
                amphi.set * 1e6,
                amphi.lock * 1e6
            );
            let Some(python) = python_socket_figures(kind) else {
                println!("socket_{kind}: python3 not found: no peer figures");
                continue;
            };
            println!(
                "socket_{kind}: python get {:.2} us ({:.1}x amphi's), set {:.2} us ({:.1}x), \
                 lock acquire+release {:.2} us ({:.1}x)",
                python.get * 1e6,
                python.get / amphi.get,
                python.set * 1e6,
                python.set / amphi.set,
                python.lock * 1e6,
                python.lock / amphi.lock
            );
        }
    }

    pub(crate) fn main() {
        socket_main();
        let amphi = amphi_figures();
        println!("manager_start: amphi {:.2} ms", amphi.start * 1e3);
        println!(
            "dict_proxy_round_trip: amphi get {:.2} us, insert {:.2} us",
            amphi.get * 1e6,
            amphi.set * 1e6
        );
        let Some(python) = python_figures() else {
            println!("python3 not found: no peer figures");
            return;
        };
        println!(
            "manager_start: python {:.2} ms, python / amphi = {:.1}x",
            python.start * 1e3,
            python.start / amphi.start
        );
        println!(
            "dict_proxy_round_trip: python get {:.2} us ({:.1}x amphi's), set {:.2} us ({:.1}x amphi's)",
            python.get * 1e6,
            python.get / amphi.get,
            python.set * 1e6,
            python.set / amphi.set
        );
    }
}

fn main() {
    #[cfg(not(target_arch = "wasm32"))]
    native::main();
}

//! A [`Manager`] between unrelated processes, natively: [`Manager::listen`] and
//! [`Manager::connect`] over a Unix socket and TCP, after CPython's `_TestMyManager`
//! (`BaseManager(address, authkey)` served and connected to) and its authkey tests: round
//! trips of every data proxy, nested proxies, a child connecting with the key it inherited
//! (and a grandchild, with the key kept out of their environments), a
//! wrong key refused on both ends while the server keeps serving, a client that dies
//! releasing its references, and a server that dies or shuts down being a typed error to its
//! clients, never a hang; and, run by hand in a network namespace of its own (it takes the
//! loopback down), a call to a server whose network vanished ending once TCP gives up on the
//! silent peer. Every test runs under a watchdog.

#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use amphi::process::connection::{Address, AuthKey};
use amphi::process::{DictProxy, Event, ListProxy, Manager, Process, SocketManager};
use amphi::Error;

/// How long a test may run before its watchdog fails it (never reached when all is well).
const PATIENCE: Duration = Duration::from_secs(120);

/// Runs `body` on a thread of its own and fails the test if it has not ended within
/// [`PATIENCE`].
fn watched<F: FnOnce() + Send + 'static>(body: F) {
    let thread = amphi::Thread::spawn(body).expect("spawn the watched body");
    match thread.join_timeout(PATIENCE) {
        Ok(()) => {}
        Err(Error::Timeout) => panic!("the test hung: its body ran past {PATIENCE:?}"),
        Err(error) => panic!("the test body failed: {error}"),
    }
}

/// A Unix socket path of its own for each use.
fn socket_path(what: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let number = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!(
        "amphi-manager-{what}-{}-{number}.sock",
        std::process::id()
    ))
}

fn unix_address(what: &str) -> Address {
    Address::unix(socket_path(what))
}

fn loopback() -> Address {
    "tcp://127.0.0.1:0".parse().expect("a TCP address")
}

/// Every data proxy, one round trip after another, and a nested proxy.
fn round_trips(manager: &SocketManager) {
    let dict = manager.dict::<String, i64>().unwrap();
    assert_eq!(dict.insert(&"a".into(), &1).unwrap(), None);
    assert_eq!(dict.insert(&"a".into(), &2).unwrap(), Some(1));
    assert_eq!(dict.add(&"b".into(), &5).unwrap(), 5);
    assert_eq!(dict.get(&"a".into()).unwrap(), Some(2));
    assert!(dict.contains_key(&"b".into()).unwrap());
    assert_eq!(dict.len().unwrap(), 2);
    assert_eq!(
        dict.items().unwrap(),
        [("a".to_owned(), 2), ("b".to_owned(), 5)]
    );
    assert_eq!(dict.remove(&"a".into()).unwrap(), Some(2));
    assert_eq!(dict.get(&"a".into()).unwrap(), None);

    let list = manager.list_from(&[3, 1, 2]).unwrap();
    list.push(&4).unwrap();
    assert_eq!(list.get(-1).unwrap(), 4);
    assert_eq!(list.slice(Some(1), Some(3)).unwrap(), [1, 2]);
    assert_eq!(list.pop(None).unwrap(), 4);
    assert_eq!(list.to_vec().unwrap(), [3, 1, 2]);
    assert_eq!(
        list.get(7),
        Err(Error::IndexOutOfRange { index: 7, len: 3 })
    );

    let namespace = manager.namespace().unwrap();
    namespace.set("x", &10).unwrap();
    namespace.set("name", &"amphi").unwrap();
    assert_eq!(namespace.get::<i32>("x").unwrap(), 10);
    assert_eq!(namespace.get::<String>("name").unwrap(), "amphi");

    let value = manager.value(1.5_f64).unwrap();
    value.set(&2.5).unwrap();
    assert_eq!(value.get().unwrap(), 2.5);

    // A dict whose values are lists: a write through the inner proxy is seen through the
    // outer one.
    let outer = manager.dict::<String, ListProxy<u32>>().unwrap();
    outer
        .insert(&"inner".into(), &manager.list().unwrap())
        .unwrap();
    let inner = outer.get(&"inner".into()).unwrap().expect("stored");
    inner.push(&7).unwrap();
    let again = outer.get(&"inner".into()).unwrap().expect("stored");
    assert_eq!(again.to_vec().unwrap(), [7]);
}

fn add_from_child(shared: (DictProxy<String, i64>, ListProxy<u32>)) {
    let (counts, pids) = shared;
    counts.add(&"children".into(), &1).unwrap();
    pids.push(&amphi::process::current_process().pid).unwrap();
}

/// Whether this process's environment (as `/proc/self/environ` shows it to the same user)
/// holds neither a manager key variable nor the key itself (`key_hex`).
fn environment_is_clean(key_hex: &str) -> bool {
    let environ = std::fs::read("/proc/self/environ").expect("read this process's environment");
    let text = String::from_utf8_lossy(&environ);
    std::env::var_os("AMPHI_MANAGER_KEYS").is_none()
        && !text.contains("MANAGER_KEYS")
        && !text.contains(key_hex)
}

/// Counts itself in the served dict (reaching the socket manager with the key it received),
/// starts a child of its own doing the same while `depth` is above 0, and answers whether
/// the key stayed out of every environment on the way.
fn count_and_pass_on(shared: (DictProxy<String, i64>, String, u32)) -> bool {
    let (counts, key_hex, depth) = shared;
    counts.add(&"descendants".into(), &1).unwrap();
    let mut clean = environment_is_clean(&key_hex);
    if depth > 0 {
        let child = Process::new(count_and_pass_on, (counts, key_hex, depth - 1));
        child.start().unwrap();
        clean &= child.join_timeout(PATIENCE).unwrap();
    }
    clean
}

/// Holds `held` (having used each over its own connection, so the server counted them) and
/// sleeps until it is killed.
fn hold_until_killed(shared: (Vec<DictProxy<u32, u32>>, Event)) {
    let (held, ready) = shared;
    for dict in &held {
        dict.len().unwrap();
    }
    ready.set();
    amphi::thread::sleep(PATIENCE).expect("children may block");
    drop(held);
}

/// Serves a manager at `address` with `key` until a client shuts it down.
fn serve_until_shutdown(shared: (String, Vec<u8>)) {
    let (address, key) = shared;
    let key = AuthKey::new(key).unwrap();
    let manager = Manager::listen(&address.parse().unwrap(), &key).unwrap();
    manager.wait_for_shutdown().unwrap();
}

/// Connects to `address` with `key`, retrying until the server listens.
fn connect_when_up(address: &Address, key: &AuthKey) -> SocketManager {
    let mut connected = None;
    common::wait_for("the server to listen", || {
        connected = Manager::connect(address, key).ok();
        connected.is_some()
    });
    connected.expect("connected above")
}

#[test]
fn listen_and_connect_over_a_unix_socket() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let address = unix_address("unix");
        let server = Manager::listen(&address, &key).unwrap();
        assert_eq!(server.address(), &address);
        assert!(server.is_serving());
        round_trips(&server);
        let client = Manager::connect(&address, &key).unwrap();
        round_trips(&client);
        server.shutdown().unwrap();
        assert!(!server.is_serving());
        let Address::Unix(file) = &address else {
            unreachable!()
        };
        assert!(
            !file.exists(),
            "the socket file is removed when the server stops"
        );
    });
}

#[test]
fn listen_and_connect_over_tcp() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&loopback(), &key).unwrap();
        let Address::Tcp { port, .. } = server.address() else {
            panic!("a TCP address: {}", server.address())
        };
        assert_ne!(*port, 0, "the address names the port the system chose");
        let client = Manager::connect(server.address(), &key).unwrap();
        round_trips(&client);
        server.shutdown().unwrap();
    });
}

#[test]
fn async_forms_work_over_a_socket() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&loopback(), &key).unwrap();
        let dict = server.dict::<u32, u32>().unwrap();
        let future = async {
            assert_eq!(dict.insert_async(&1, &2).await.unwrap(), None);
            assert_eq!(dict.get_async(&1).await.unwrap(), Some(2));
            assert_eq!(server.stats_async().await.unwrap().objects, 1);
        };
        futures_lite_block_on(future);
        server.shutdown().unwrap();
    });
}

/// Drives `future` on this thread, polling it until it completes.
fn futures_lite_block_on<F: std::future::Future<Output = ()>>(future: F) {
    let mut future = std::pin::pin!(future);
    loop {
        if common::poll_once(future.as_mut()).is_ready() {
            return;
        }
        amphi::thread::sleep(Duration::from_millis(1)).unwrap();
    }
}

#[test]
fn a_child_connects_with_the_key_it_inherited() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&unix_address("child"), &key).unwrap();
        let counts = server.dict::<String, i64>().unwrap();
        let pids = server.list::<u32>().unwrap();
        let children: Vec<_> = (0..2)
            .map(|_| Process::new(add_from_child, (counts.clone(), pids.clone())))
            .collect();
        for child in &children {
            child.start().unwrap();
        }
        for child in &children {
            child.join_timeout(PATIENCE).unwrap();
        }
        assert_eq!(counts.get(&"children".into()).unwrap(), Some(2));
        let mut got = pids.to_vec().unwrap();
        got.sort_unstable();
        let mut expected: Vec<u32> = children.iter().filter_map(Process::pid).collect();
        expected.sort_unstable();
        assert_eq!(got, expected);
        server.shutdown().unwrap();
    });
}

#[test]
fn keys_reach_children_and_grandchildren_outside_their_environment() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let key_hex: String = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
        let server = Manager::listen(&unix_address("environ"), &key).unwrap();
        let counts = server.dict::<String, i64>().unwrap();
        let child = Process::new(count_and_pass_on, (counts.clone(), key_hex.clone(), 1));
        child.start().unwrap();
        assert!(
            child.join_timeout(PATIENCE).unwrap(),
            "a descendant's environment held the manager's key"
        );
        assert_eq!(counts.get(&"descendants".into()).unwrap(), Some(2));
        assert!(environment_is_clean(&key_hex), "nor this process's own");
        server.shutdown().unwrap();
    });
}

#[test]
fn a_wrong_key_is_refused_and_the_server_keeps_serving() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&loopback(), &key).unwrap();
        let dict = server.dict::<u32, u32>().unwrap();
        dict.insert(&1, &1).unwrap();
        let wrong = AuthKey::new(b"not the key".to_vec()).unwrap();
        let refused = Manager::connect(server.address(), &wrong);
        assert!(
            matches!(refused, Err(Error::AuthenticationFailed(_))),
            "{refused:?}"
        );
        // The server, and this process's connection, go on.
        assert_eq!(dict.get(&1).unwrap(), Some(1));
        let client = Manager::connect(server.address(), &key).unwrap();
        assert_eq!(client.stats().unwrap().objects, 1);
        round_trips(&client);
        server.shutdown().unwrap();
    });
}

#[test]
fn a_client_that_dies_releases_its_references() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&unix_address("release"), &key).unwrap();
        let held: Vec<DictProxy<u32, u32>> = (0..3).map(|_| server.dict().unwrap()).collect();
        let ready = Event::new().unwrap();
        let child = Process::new(hold_until_killed, (held.clone(), ready.clone()));
        child.start().unwrap();
        ready.wait_timeout(PATIENCE).unwrap();
        drop(held);
        let stats = server.stats().unwrap();
        assert_eq!((stats.objects, stats.clients), (3, 2), "{stats:?}");
        child.kill().unwrap();
        assert!(child.join_timeout(PATIENCE).is_err());
        common::wait_for("the dead client's references to be released", || {
            let stats = server.stats().unwrap();
            (stats.objects, stats.clients) == (0, 1)
        });
        server.shutdown().unwrap();
    });
}

#[test]
fn a_server_that_dies_is_manager_gone_for_its_clients() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let address = unix_address("killed");
        let server = Process::new(
            serve_until_shutdown,
            (address.to_string(), key.as_bytes().to_vec()),
        );
        server.start().unwrap();
        let client = connect_when_up(&address, &key);
        let dict = client.dict::<u32, u32>().unwrap();
        dict.insert(&1, &1).unwrap();
        // A call waiting in another thread when the server dies.
        let waiting = {
            let dict = dict.clone();
            amphi::Thread::spawn(move || loop {
                if let Err(error) = dict.get(&1) {
                    return error;
                }
            })
            .unwrap()
        };
        server.kill().unwrap();
        assert!(server.join_timeout(PATIENCE).is_err());
        assert_eq!(waiting.join_timeout(PATIENCE).unwrap(), Error::ManagerGone);
        assert_eq!(dict.len(), Err(Error::ManagerGone));
        assert!(matches!(client.list::<u8>(), Err(Error::ManagerGone)));
        // A killed server leaves its socket's file behind.
        let Address::Unix(file) = &address else {
            unreachable!()
        };
        let _ = std::fs::remove_file(file);
    });
}

#[test]
fn a_client_shuts_down_a_server_of_another_process() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let address = unix_address("shutdown");
        let server = Process::new(
            serve_until_shutdown,
            (address.to_string(), key.as_bytes().to_vec()),
        );
        server.start().unwrap();
        let client = connect_when_up(&address, &key);
        let list = client.list::<u32>().unwrap();
        list.push(&1).unwrap();
        client.shutdown().unwrap();
        server.join_timeout(PATIENCE).unwrap();
        assert_eq!(list.len(), Err(Error::ManagerGone));
        assert_eq!(
            list.len_timeout(Duration::from_secs(5)),
            Err(Error::ManagerGone)
        );
    });
}

#[test]
fn a_manager_served_again_at_the_same_address_is_a_new_one() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let address = unix_address("again");
        let first = Manager::listen(&address, &key).unwrap();
        let old = first.list::<u32>().unwrap();
        old.push(&1).unwrap();
        first.shutdown().unwrap();
        let second = Manager::listen(&address, &key).unwrap();
        let client = Manager::connect(&address, &key).unwrap();
        let new = client.list_from(&[2, 3]).unwrap();
        assert_eq!(new.to_vec().unwrap(), [2, 3]);
        assert_eq!(second.stats().unwrap().objects, 1);
        assert_eq!(old.len(), Err(Error::ManagerGone));
        second.shutdown().unwrap();
    });
}

#[test]
fn timed_out_and_concurrent_calls_never_get_another_calls_reply() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&loopback(), &key).unwrap();
        let dict = server.dict::<u32, u32>().unwrap();
        for round in 0..200 {
            dict.insert(&1, &round).unwrap();
            // A call that gives up leaves its reply owed; the next call must not take it.
            match dict.get_timeout(&1, Duration::from_micros(1)) {
                Ok(found) => assert_eq!(found, Some(round)),
                Err(error) => assert_eq!(error, Error::Timeout),
            }
            assert_eq!(dict.len().unwrap(), 1, "round {round}");
            assert_eq!(dict.get(&1).unwrap(), Some(round), "round {round}");
        }
        // Threads of one process share its connection: each gets its own replies.
        let counters = server.dict::<String, u64>().unwrap();
        let workers: Vec<_> = (0..4)
            .map(|worker| {
                let counters = counters.clone();
                amphi::Thread::spawn(move || {
                    for _ in 0..100 {
                        counters.add(&"total".into(), &1).unwrap();
                        let mine = counters.add(&format!("worker-{worker}"), &1).unwrap();
                        assert!(mine <= 100);
                    }
                })
                .unwrap()
            })
            .collect();
        for worker in workers {
            worker.join_timeout(PATIENCE).unwrap();
        }
        assert_eq!(counters.get(&"total".into()).unwrap(), Some(400));
        for worker in 0..4 {
            assert_eq!(
                counters.get(&format!("worker-{worker}")).unwrap(),
                Some(100)
            );
        }
        server.shutdown().unwrap();
    });
}

/// A call, with no timeout, to a server whose network vanished without a word (no reset, no
/// end of stream: its packets are dropped) ends with [`Error::ManagerGone`] once the kernel
/// gives up on the silent peer, instead of waiting forever.
///
/// It takes down the loopback interface, so it only runs in a network namespace of its own:
/// `unshare -rn sh -c 'ip link set lo up && AMPHI_TCP_DEAD_PEER_MS=2000 cargo test --test
/// manager_socket -- --ignored'` (without the variable, the kernel gives up after about
/// 30-40 s).
#[test]
#[ignore = "takes the loopback interface down: run it in a network namespace of its own"]
fn a_call_to_a_server_whose_network_vanished_ends() {
    fn loopback_up(up: bool) -> bool {
        std::process::Command::new("ip")
            .args(["link", "set", "lo", if up { "up" } else { "down" }])
            .status()
            .is_ok_and(|status| status.success())
    }
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&loopback(), &key).unwrap();
        let dict = server.dict::<u32, u32>().unwrap();
        assert_eq!(dict.insert(&1, &1), Ok(None));
        assert!(
            loopback_up(false),
            "this test takes the loopback interface down: run it in a network namespace"
        );
        let started = amphi::time::Instant::now();
        let outcome = dict.get(&1);
        let took = started.elapsed();
        assert!(loopback_up(true));
        assert_eq!(outcome, Err(Error::ManagerGone), "after {took:?}");
        println!("a call to a vanished server ended after {took:?}");
        let _ = server.shutdown();
    });
}

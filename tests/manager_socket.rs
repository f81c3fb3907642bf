//! A [`Manager`] between unrelated processes, natively: [`Manager::listen`] and
//! [`Manager::connect`] over a Unix socket and TCP, after CPython's `_TestMyManager`
//! (`BaseManager(address, authkey)` served and connected to) and its authkey tests: round
//! trips of every data proxy, nested proxies, a child connecting with the key it inherited
//! (and a grandchild, with the key kept out of their environments), a
//! wrong key refused on both ends while the server keeps serving, a client that dies
//! releasing its references, and a server that dies or shuts down being a typed error to its
//! clients, never a hang. The served synchronisation objects after CPython's
//! `TestSyncManagerTypes`: lock, reentrant lock, semaphore, event, condition, barrier and
//! queue used from two unrelated client processes, their timeouts (which leave nothing
//! behind), ownership, a dead client's holdings given back, and a killed server making every
//! blocked call `ManagerGone`. Run by hand in a network namespace of its own (it takes the
//! loopback down): a call to a server whose network vanished ends once TCP gives up on the
//! silent peer. Every test runs under a watchdog.

#![cfg(not(target_arch = "wasm32"))]

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use amphi::process::connection::{Address, AuthKey};
use amphi::process::{
    BarrierProxy, DictProxy, Event, EventProxy, ListProxy, LockProxy, Manager, Process, QueueProxy,
    RLockProxy, SemaphoreProxy, SocketManager,
};
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

// ---------------------------------------------------------------------------------------
// Served synchronisation objects (after CPython's TestSyncManagerTypes)
// ---------------------------------------------------------------------------------------

/// What each client process of [`sync_objects_from_two_unrelated_client_processes`] is given:
/// the manager's address and key, and the objects.
type Shared = (
    String,
    Vec<u8>,
    (LockProxy, DictProxy<String, i64>, BarrierProxy),
    (SemaphoreProxy, QueueProxy<u32>, EventProxy),
);

/// A client process: connects to the manager, meets the other at the barrier, increments a
/// counter under the lock (a racy read-then-write made safe by it), reports its pid through
/// the queue, and waits for the event.
fn locked_client(shared: Shared) {
    let (address, key, (lock, counter, start), (slots, reports, done)) = shared;
    let key = AuthKey::new(key).unwrap();
    let manager = Manager::connect(&address.parse().unwrap(), &key).unwrap();
    start.wait().unwrap();
    for _ in 0..50 {
        lock.acquire().unwrap();
        let seen = counter.get(&"count".into()).unwrap().unwrap_or(0);
        counter.insert(&"count".into(), &(seen + 1)).unwrap();
        lock.release().unwrap();
        slots.acquire().unwrap();
        assert!(slots.value().unwrap() <= 1);
        slots.release(1).unwrap();
    }
    reports.put(&amphi::process::current_process().pid).unwrap();
    done.wait().unwrap();
    drop(manager);
}

#[test]
fn sync_objects_from_two_unrelated_client_processes() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let address = unix_address("sync");
        let server = Manager::listen(&address, &key).unwrap();
        let lock = server.lock().unwrap();
        let counter = server.dict::<String, i64>().unwrap();
        let start = server.barrier(2).unwrap();
        let slots = server.bounded_semaphore(2).unwrap();
        let reports = server.queue::<u32>(0).unwrap();
        let done = server.event().unwrap();
        let clients: Vec<_> = (0..2)
            .map(|_| {
                Process::new(
                    locked_client,
                    (
                        address.to_string(),
                        key.as_bytes().to_vec(),
                        (lock.clone(), counter.clone(), start.clone()),
                        (slots.clone(), reports.clone(), done.clone()),
                    ),
                )
            })
            .collect();
        for client in &clients {
            client.start().unwrap();
        }
        let mut pids = vec![
            reports.get_timeout(PATIENCE).unwrap(),
            reports.get_timeout(PATIENCE).unwrap(),
        ];
        assert!(reports.empty().unwrap());
        done.set().unwrap();
        for client in &clients {
            client.join_timeout(PATIENCE).unwrap();
        }
        pids.sort_unstable();
        let mut expected: Vec<u32> = clients.iter().filter_map(Process::pid).collect();
        expected.sort_unstable();
        assert_eq!(pids, expected);
        assert_eq!(counter.get(&"count".into()).unwrap(), Some(100));
        assert!(!lock.locked().unwrap());
        assert_eq!(slots.value().unwrap(), 2);
        assert!(!start.broken().unwrap());
        server.shutdown().unwrap();
    });
}

#[test]
fn served_locks_semaphores_and_events_behave_as_pythons() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&loopback(), &key).unwrap();
        let client = Manager::connect(server.address(), &key).unwrap();
        let short = Duration::from_millis(20);

        let lock = client.lock().unwrap();
        assert!(lock.try_acquire().unwrap());
        assert!(!lock.try_acquire().unwrap());
        assert_eq!(lock.acquire_timeout(short), Err(Error::Timeout));
        // Any thread may release a plain lock, as threading.Lock.
        let other = {
            let lock = lock.clone();
            amphi::Thread::spawn(move || lock.release()).unwrap()
        };
        other.join_timeout(PATIENCE).unwrap().unwrap();
        assert_eq!(lock.release(), Err(Error::NotLocked));

        let rlock = client.rlock().unwrap();
        rlock.acquire().unwrap();
        rlock.acquire().unwrap();
        assert_eq!(rlock.depth().unwrap(), 2);
        assert!(rlock.is_owned().unwrap());
        let other = {
            let rlock = rlock.clone();
            amphi::Thread::spawn(move || {
                (
                    rlock.release(),
                    rlock.is_owned().unwrap(),
                    rlock.acquire_timeout(Duration::from_millis(20)),
                )
            })
            .unwrap()
        };
        assert_eq!(
            other.join_timeout(PATIENCE).unwrap(),
            (Err(Error::NotOwner), false, Err(Error::Timeout))
        );
        rlock.release().unwrap();
        rlock.release().unwrap();
        assert_eq!(rlock.release(), Err(Error::NotOwner));
        assert!(!rlock.locked().unwrap());

        let semaphore = client.semaphore(2).unwrap();
        semaphore.acquire().unwrap();
        semaphore.acquire_timeout(short).unwrap();
        assert_eq!(semaphore.acquire_timeout(short), Err(Error::Timeout));
        assert!(!semaphore.try_acquire().unwrap());
        semaphore.release(3).unwrap();
        assert_eq!(
            semaphore.value().unwrap(),
            3,
            "an unbounded semaphore may grow"
        );
        let bounded = client.bounded_semaphore(1).unwrap();
        assert_eq!(
            bounded.release(1),
            Err(Error::SemaphoreOverflow { initial: 1 })
        );

        let event = client.event().unwrap();
        assert!(!event.is_set().unwrap());
        assert_eq!(event.wait_timeout(short), Err(Error::Timeout));
        let waiter = {
            let event = event.clone();
            amphi::Thread::spawn(move || event.wait_timeout(PATIENCE)).unwrap()
        };
        event.set().unwrap();
        waiter.join_timeout(PATIENCE).unwrap().unwrap();
        event.wait().unwrap();
        event.clear().unwrap();
        assert!(!event.is_set().unwrap());

        // The async forms, on a thread that never blocks in them.
        let setter = {
            let event = event.clone();
            amphi::Thread::spawn(move || {
                amphi::thread::sleep(Duration::from_millis(20)).unwrap();
                event.set()
            })
            .unwrap()
        };
        futures_lite_block_on(async {
            event.wait_async().await.unwrap();
            assert!(event.is_set_async().await.unwrap());
            lock.acquire_async().await.unwrap();
            lock.release_async().await.unwrap();
        });
        setter.join_timeout(PATIENCE).unwrap().unwrap();
        server.shutdown().unwrap();
    });
}

#[test]
fn a_served_condition_wakes_its_waiters_and_checks_its_owner() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&unix_address("condition"), &key).unwrap();
        let condition = server.condition().unwrap();
        let items = server.list::<u32>().unwrap();
        assert_eq!(condition.notify(1), Err(Error::NotOwner));
        assert_eq!(condition.wait(), Err(Error::NotOwner));
        condition.acquire().unwrap();
        assert_eq!(
            condition.wait_timeout(Duration::from_millis(20)),
            Err(Error::Timeout)
        );
        assert!(
            condition.is_owned().unwrap(),
            "held again after a timed-out wait"
        );
        condition.release().unwrap();

        let consumers: Vec<_> = (0..2)
            .map(|_| {
                let (condition, items) = (condition.clone(), items.clone());
                amphi::Thread::spawn(move || {
                    condition.acquire().unwrap();
                    condition.acquire().unwrap();
                    while items.is_empty().unwrap() {
                        condition.wait_timeout(PATIENCE).unwrap();
                    }
                    let depth_kept = condition.is_owned().unwrap();
                    let item = items.pop(None).unwrap();
                    condition.release().unwrap();
                    condition.release().unwrap();
                    (depth_kept, item)
                })
                .unwrap()
            })
            .collect();
        common::wait_for("both consumers to wait", || {
            condition.waiting().unwrap() == 2
        });
        condition.acquire().unwrap();
        items.extend(&[1, 2]).unwrap();
        assert_eq!(condition.notify_all().unwrap(), 2);
        condition.release().unwrap();
        let mut got: Vec<u32> = consumers
            .into_iter()
            .map(|consumer| {
                let (kept, item) = consumer.join_timeout(PATIENCE).unwrap();
                assert!(kept);
                item
            })
            .collect();
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        server.shutdown().unwrap();
    });
}

#[test]
fn served_barriers_and_queues_behave_as_pythons() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&loopback(), &key).unwrap();
        let barrier = server.barrier(3).unwrap();
        assert_eq!(barrier.parties().unwrap(), 3);
        let parties: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                amphi::Thread::spawn(move || barrier.wait()).unwrap()
            })
            .collect();
        common::wait_for("two parties to wait", || barrier.n_waiting().unwrap() == 2);
        let mut indexes = vec![barrier.wait().unwrap()];
        for party in parties {
            indexes.push(party.join_timeout(PATIENCE).unwrap().unwrap());
        }
        indexes.sort_unstable();
        assert_eq!(indexes, [0, 1, 2]);
        // A timed-out wait breaks the barrier for everyone, until reset.
        assert_eq!(
            barrier.wait_timeout(Duration::from_millis(20)),
            Err(Error::BrokenBarrier)
        );
        assert!(barrier.broken().unwrap());
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier));
        barrier.reset().unwrap();
        assert!(!barrier.broken().unwrap());
        let waiting = {
            let barrier = barrier.clone();
            amphi::Thread::spawn(move || barrier.wait()).unwrap()
        };
        common::wait_for("a party to wait", || barrier.n_waiting().unwrap() == 1);
        barrier.abort().unwrap();
        assert_eq!(
            waiting.join_timeout(PATIENCE).unwrap(),
            Err(Error::BrokenBarrier)
        );

        let queue = server.queue::<String>(2).unwrap();
        assert_eq!(queue.maxsize().unwrap(), 2);
        assert!(queue.empty().unwrap());
        assert_eq!(queue.try_get(), Err(Error::Empty));
        // A get that timed out takes nothing later.
        assert_eq!(
            queue.get_timeout(Duration::from_millis(20)),
            Err(Error::Timeout)
        );
        queue.put(&"a".into()).unwrap();
        queue.put(&"b".into()).unwrap();
        assert!(queue.full().unwrap());
        assert_eq!(queue.try_put(&"c".into()), Err(Error::Full));
        assert_eq!(
            queue.put_timeout(&"c".into(), Duration::from_millis(20)),
            Err(Error::Timeout)
        );
        assert_eq!(queue.qsize().unwrap(), 2);
        let getter = {
            let queue = queue.clone();
            amphi::Thread::spawn(move || {
                (0..3)
                    .map(|_| queue.get_timeout(PATIENCE).unwrap())
                    .collect::<Vec<_>>()
            })
            .unwrap()
        };
        queue.put_timeout(&"c".into(), PATIENCE).unwrap();
        assert_eq!(getter.join_timeout(PATIENCE).unwrap(), ["a", "b", "c"]);

        let tasks = server.joinable_queue::<u32>(0).unwrap();
        tasks.put(&1).unwrap();
        tasks.put(&2).unwrap();
        assert_eq!(tasks.unfinished_tasks().unwrap(), 2);
        assert_eq!(
            tasks.join_timeout(Duration::from_millis(20)),
            Err(Error::Timeout)
        );
        let worker = {
            let tasks = tasks.clone();
            amphi::Thread::spawn(move || {
                for _ in 0..2 {
                    tasks.get().unwrap();
                    tasks.task_done().unwrap();
                }
            })
            .unwrap()
        };
        tasks.join_timeout(PATIENCE).unwrap();
        worker.join_timeout(PATIENCE).unwrap();
        assert_eq!(tasks.task_done(), Err(Error::TooManyTaskDone));
        server.shutdown().unwrap();
    });
}

/// Takes the lock, the reentrant lock (twice) and a permit over its own connection, says so,
/// and sleeps until it is killed; or, given a held lock, blocks acquiring it.
fn hold_sync_until_killed(shared: ((LockProxy, RLockProxy, SemaphoreProxy), Event, bool)) {
    let ((lock, rlock, permits), ready, block) = shared;
    if block {
        ready.set();
        lock.acquire().unwrap();
        unreachable!("the lock is held by the parent until this process is killed");
    }
    lock.acquire().unwrap();
    rlock.acquire().unwrap();
    rlock.acquire().unwrap();
    permits.acquire().unwrap();
    ready.set();
    amphi::thread::sleep(PATIENCE).expect("children may block");
}

#[test]
fn a_dead_client_gives_back_what_it_held() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&unix_address("holder"), &key).unwrap();
        let lock = server.lock().unwrap();
        let rlock = server.rlock().unwrap();
        let permits = server.semaphore(1).unwrap();
        let objects = (lock.clone(), rlock.clone(), permits.clone());

        let ready = Event::new().unwrap();
        let holder = Process::new(
            hold_sync_until_killed,
            (objects.clone(), ready.clone(), false),
        );
        holder.start().unwrap();
        ready.wait_timeout(PATIENCE).unwrap();
        assert!(lock.locked().unwrap());
        assert!(rlock.locked().unwrap() && !rlock.is_owned().unwrap());
        assert_eq!(permits.value().unwrap(), 0);
        holder.kill().unwrap();
        assert!(holder.join_timeout(PATIENCE).is_err());
        // Within a bounded time, everything the dead client held is free again.
        lock.acquire_timeout(PATIENCE).unwrap();
        rlock.acquire_timeout(PATIENCE).unwrap();
        assert_eq!(rlock.depth().unwrap(), 1);
        permits.acquire_timeout(PATIENCE).unwrap();

        // A client killed while it waits for the lock never takes it afterwards.
        let ready = Event::new().unwrap();
        let blocked = Process::new(hold_sync_until_killed, (objects, ready.clone(), true));
        blocked.start().unwrap();
        ready.wait_timeout(PATIENCE).unwrap();
        amphi::thread::sleep(Duration::from_millis(50)).unwrap();
        blocked.kill().unwrap();
        assert!(blocked.join_timeout(PATIENCE).is_err());
        // Past a few of the server's wait slices, its wait has noticed and left.
        amphi::thread::sleep(Duration::from_millis(500)).unwrap();
        lock.release().unwrap();
        assert!(!lock.locked().unwrap());
        assert!(
            lock.try_acquire().unwrap(),
            "the dead waiter did not take it"
        );
        server.shutdown().unwrap();
    });
}

/// Waits at `barrier` until it is killed.
fn wait_at_barrier_until_killed(barrier: BarrierProxy) {
    let _ = barrier.wait();
    unreachable!("the other party never comes: this process is killed first");
}

#[test]
fn a_timed_out_call_leaves_nothing_behind_and_a_vanished_party_breaks_the_barrier() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let server = Manager::listen(&unix_address("leftovers"), &key).unwrap();
        let lock = server.lock().unwrap();
        lock.acquire().unwrap();
        let late = {
            let lock = lock.clone();
            amphi::Thread::spawn(move || {
                let outcome = lock.acquire_timeout(Duration::from_millis(50));
                // The thread lives on, its connection open, after its acquire gave up.
                amphi::thread::sleep(Duration::from_millis(300)).unwrap();
                outcome
            })
            .unwrap()
        };
        amphi::thread::sleep(Duration::from_millis(100)).unwrap();
        lock.release().unwrap();
        amphi::thread::sleep(Duration::from_millis(100)).unwrap();
        assert!(
            !lock.locked().unwrap(),
            "the timed-out acquire took nothing"
        );
        assert_eq!(late.join_timeout(PATIENCE).unwrap(), Err(Error::Timeout));

        // A thread that ends gives back the permits it took.
        let permits = server.semaphore(1).unwrap();
        let taker = {
            let permits = permits.clone();
            amphi::Thread::spawn(move || permits.acquire()).unwrap()
        };
        taker.join_timeout(PATIENCE).unwrap().unwrap();
        permits.acquire_timeout(PATIENCE).unwrap();

        let barrier = server.barrier(2).unwrap();
        let party = Process::new(wait_at_barrier_until_killed, barrier.clone());
        party.start().unwrap();
        common::wait_for("the party to wait", || barrier.n_waiting().unwrap() == 1);
        party.kill().unwrap();
        assert!(party.join_timeout(PATIENCE).is_err());
        common::wait_for("the barrier to break", || barrier.broken().unwrap());
        assert_eq!(barrier.wait(), Err(Error::BrokenBarrier));
        server.shutdown().unwrap();
    });
}

/// What each blocked call of [`a_killed_server_fails_every_blocked_call`] returned.
fn blocked_call<F>(call: F) -> amphi::Thread<Error>
where
    F: FnOnce() -> Result<(), Error> + Send + 'static,
{
    amphi::Thread::spawn(move || match call() {
        Ok(()) => panic!("the call returned while the server was being killed"),
        Err(error) => error,
    })
    .unwrap()
}

#[test]
fn a_killed_server_fails_every_blocked_call() {
    watched(|| {
        let key = AuthKey::random().unwrap();
        let address = unix_address("killed-sync");
        let server = Process::new(
            serve_until_shutdown,
            (address.to_string(), key.as_bytes().to_vec()),
        );
        server.start().unwrap();
        let client = connect_when_up(&address, &key);
        let lock = client.lock().unwrap();
        lock.acquire().unwrap();
        let event = client.event().unwrap();
        let queue = client.queue::<u32>(0).unwrap();
        let barrier = client.barrier(5).unwrap();
        let condition = client.condition().unwrap();
        let blocked = vec![
            blocked_call({
                let lock = lock.clone();
                move || lock.acquire()
            }),
            blocked_call({
                let event = event.clone();
                move || event.wait_timeout(PATIENCE)
            }),
            blocked_call(move || queue.get().map(drop)),
            blocked_call({
                let barrier = barrier.clone();
                move || barrier.wait().map(drop)
            }),
            blocked_call(move || {
                condition.acquire()?;
                condition.wait()
            }),
        ];
        common::wait_for("the calls to wait in the server", || {
            barrier.n_waiting().unwrap() == 1
        });
        amphi::thread::sleep(Duration::from_millis(100)).unwrap();
        server.kill().unwrap();
        assert!(server.join_timeout(PATIENCE).is_err());
        for call in blocked {
            assert_eq!(call.join_timeout(PATIENCE).unwrap(), Error::ManagerGone);
        }
        assert_eq!(event.set(), Err(Error::ManagerGone));
        assert_eq!(lock.release(), Err(Error::ManagerGone));
        let Address::Unix(file) = &address else {
            unreachable!()
        };
        let _ = std::fs::remove_file(file);
    });
}

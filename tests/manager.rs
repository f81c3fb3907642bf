//! Conformance of [`amphi::process::Manager`] with Python's `multiprocessing.Manager()`, after
//! CPython's `_TestContainers` (lists, dicts, namespaces, nested proxies),
//! `TestSyncManagerTypes` (children mutating each proxy type, synchronisation objects used
//! from children) and `_TestMyManager` (shutdown, start and shutdown repeatedly); and the
//! deaths a manager must survive or report: a manager killed while clients call it (a typed
//! error within bounded time, never a hang), a client killed while it holds references (they
//! are released), a container changed while it is iterated (Python's `RuntimeError`).
//! Natively on child processes, in the browser on process workers. Every test runs under a
//! watchdog: a hang fails it instead of stalling the suite.

#[macro_use]
#[allow(unused_macros)]
mod common;

use std::collections::HashMap;
use std::time::Duration;

use amphi::process::{
    active_children, current_process, DictProxy, Event, ListProxy, Lock, Manager, NamespaceProxy,
    Process, Queue, Value, ValueProxy,
};
use amphi::Error;

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// How long a test may run before its watchdog fails it (never reached when all is well).
const PATIENCE: Duration = Duration::from_secs(120);

/// How many times the kill-mid-call test repeats (randomised timings).
#[cfg(not(target_arch = "wasm32"))]
const KILL_ROUNDS: u32 = 24;
#[cfg(target_arch = "wasm32")]
const KILL_ROUNDS: u32 = 3;

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

fn join<R: serde::Serialize + serde::de::DeserializeOwned>(child: &Process<R>) -> R {
    child.join_timeout(PATIENCE).expect("join the child")
}

fn kill_process(pid: u32) {
    let child = active_children()
        .into_iter()
        .find(|child| child.pid() == Some(pid))
        .expect("the manager's server is a child of this process");
    child.kill().expect("kill the manager's server");
}

/// A small pseudo-random sequence (no dependency): xorshift from a seed.
fn shuffle_seed(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

// Children's targets.

fn append_pid(items: ListProxy<u32>) {
    items.push(&current_process().pid).unwrap();
}

fn mutate_all(
    shared: (
        DictProxy<String, i64>,
        ListProxy<i64>,
        NamespaceProxy,
        ValueProxy<i64>,
    ),
) {
    let (dict, list, namespace, value) = shared;
    dict.insert(&"child".into(), &7).unwrap();
    dict.add(&"count".into(), &1).unwrap();
    list.extend(&[4, 5]).unwrap();
    list.set(0, &-1).unwrap();
    namespace.set("from_child", &true).unwrap();
    value.add(&10).unwrap();
}

fn locked_increments(shared: (DictProxy<String, i64>, Lock, u32)) {
    let (dict, lock, rounds) = shared;
    for _ in 0..rounds {
        let _held = lock.acquire().unwrap();
        let now = dict.get(&"n".into()).unwrap().unwrap_or(0);
        dict.insert(&"n".into(), &(now + 1)).unwrap();
    }
}

fn atomic_increments(shared: (DictProxy<String, i64>, u32)) {
    let (dict, rounds) = shared;
    for _ in 0..rounds {
        dict.add(&"n".into(), &1).unwrap();
    }
}

fn wait_and_answer(shared: (Event, Queue<String>, NamespaceProxy)) {
    let (event, queue, namespace) = shared;
    event.wait_timeout(PATIENCE).unwrap();
    let word: String = namespace.get("word").unwrap();
    queue.put(word.to_uppercase()).unwrap();
}

fn push_into_inner(outer: DictProxy<String, ListProxy<i32>>) {
    let inner = outer
        .get(&"inner".into())
        .unwrap()
        .expect("the inner list is there");
    inner.push(&42).unwrap();
}

/// Holds its proxies, says so, and sleeps until killed.
fn hold_and_sleep(shared: (Vec<DictProxy<u32, u32>>, Event)) {
    let (held, ready) = shared;
    ready.set();
    amphi::thread::sleep(PATIENCE).expect("children may block");
    drop(held);
}

/// Calls the manager until it fails; what it failed with.
fn call_until_gone(dict: DictProxy<u32, u32>) -> Error {
    let mut n = 0;
    loop {
        n += 1;
        if let Err(error) = dict.insert(&(n % 16), &n) {
            return error;
        }
    }
}

/// [`call_until_gone`] in a child: whether it failed with [`Error::ManagerGone`].
fn child_calls_until_gone(dict: DictProxy<u32, u32>) -> bool {
    call_until_gone(dict) == Error::ManagerGone
}

conformance! {
    fn list_proxies_behave_as_lists() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let a = manager.list_from(&(0..10).collect::<Vec<i64>>()).unwrap();
            assert_eq!(a.to_vec().unwrap(), (0..10).collect::<Vec<_>>());
            let b = manager.list::<i64>().unwrap();
            assert!(b.is_empty().unwrap());
            b.extend(&[0, 1, 2, 3, 4]).unwrap();
            assert_eq!(b.get(-1).unwrap(), 4);
            assert_eq!(b.slice(Some(2), Some(5)).unwrap(), [2, 3, 4]);
            assert_eq!(b.slice(Some(-2), None).unwrap(), [3, 4]);
            assert_eq!(b.slice(Some(4), Some(1)).unwrap(), Vec::<i64>::new());
            b.set(0, &9).unwrap();
            b.insert(1, &7).unwrap();
            b.insert(100, &8).unwrap();
            assert_eq!(b.to_vec().unwrap(), [9, 7, 1, 2, 3, 4, 8]);
            assert_eq!(b.pop(None).unwrap(), 8);
            assert_eq!(b.pop(Some(0)).unwrap(), 9);
            b.remove(&2).unwrap();
            assert_eq!(b.remove(&2), Err(Error::KeyNotFound("2".into())));
            assert!(b.contains(&7).unwrap() && !b.contains(&2).unwrap());
            assert_eq!(b.len().unwrap(), 4);
            assert_eq!(b.get(4), Err(Error::IndexOutOfRange { index: 4, len: 4 }));
            assert_eq!(b.get(-5), Err(Error::IndexOutOfRange { index: -5, len: 4 }));
            assert_eq!(b.set(9, &0), Err(Error::IndexOutOfRange { index: 9, len: 4 }));
            b.sort().unwrap();
            assert_eq!(b.to_vec().unwrap(), [1, 3, 4, 7]);
            assert_eq!(b.iter().collect::<Result<Vec<_>, _>>().unwrap(), [1, 3, 4, 7]);
            b.clear().unwrap();
            assert_eq!(b.pop(None), Err(Error::IndexOutOfRange { index: -1, len: 0 }));
            let words = manager.list_from(&["pear".to_owned(), "fig".into(), "apple".into()]).unwrap();
            words.sort_timeout(PATIENCE).unwrap();
            assert_eq!(words.to_vec().unwrap(), ["apple", "fig", "pear"]);
            manager.shutdown().unwrap();
        });
    }

    fn dict_proxies_behave_as_dicts() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let d = manager.dict_from(&[(1u32, "one".to_owned()), (2, "two".to_owned())]).unwrap();
            assert_eq!(d.len().unwrap(), 2);
            assert_eq!(d.insert(&3, &"three".into()).unwrap(), None);
            assert_eq!(d.insert(&1, &"uno".into()).unwrap(), Some("one".into()));
            assert_eq!(d.keys().unwrap(), [1, 2, 3], "insertion order, as Python's");
            assert_eq!(d.values().unwrap(), ["uno", "two", "three"]);
            assert_eq!(d.items().unwrap()[2], (3, "three".into()));
            assert_eq!(d.get(&2).unwrap(), Some("two".into()));
            assert_eq!(d.get(&9).unwrap(), None);
            assert_eq!(d.item(&9), Err(Error::KeyNotFound("9".into())));
            assert!(d.contains_key(&3).unwrap() && !d.contains_key(&4).unwrap());
            assert_eq!(d.remove(&2).unwrap(), Some("two".into()));
            assert_eq!(d.remove(&2).unwrap(), None);
            let copy: HashMap<u32, String> = d.copy().unwrap();
            assert_eq!(copy.len(), 2);
            assert_eq!(copy[&1], "uno");
            d.update(&[(4, "four".into()), (1, "one".into())]).unwrap();
            assert_eq!(d.keys().unwrap(), [1, 3, 4]);
            d.clear().unwrap();
            assert!(d.is_empty().unwrap());

            let counts = manager.dict::<String, i64>().unwrap();
            assert_eq!(counts.add(&"a".into(), &5).unwrap(), 5);
            assert_eq!(counts.add(&"a".into(), &-2).unwrap(), 3);
            assert!(!counts.compare_and_set(&"a".into(), Some(&4), &0).unwrap());
            assert!(counts.compare_and_set(&"a".into(), Some(&3), &0).unwrap());
            assert!(counts.compare_and_set(&"b".into(), None, &1).unwrap());
            assert!(!counts.compare_and_set(&"b".into(), None, &2).unwrap());
            assert_eq!(counts.get(&"b".into()).unwrap(), Some(1));
            let texts = manager.dict::<String, String>().unwrap();
            texts.insert(&"t".into(), &"x".into()).unwrap();
            assert!(matches!(texts.add(&"t".into(), &"y".into()), Err(Error::Remote(_))));
            // Requests and replies longer than a ring stream through it.
            let big = "0123456789".repeat(30_000);
            texts.insert(&"big".into(), &big).unwrap();
            assert_eq!(texts.get(&"big".into()).unwrap(), Some(big));
            manager.shutdown().unwrap();
        });
    }

    fn namespaces_and_values() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let n = manager.namespace().unwrap();
            n.set("name", "Bob").unwrap();
            n.set("job", "Builder").unwrap();
            n.set("alive", &true).unwrap();
            assert_eq!(n.get::<String>("name").unwrap(), "Bob");
            assert!(n.get::<bool>("alive").unwrap());
            assert_eq!(n.names().unwrap(), ["name", "job", "alive"]);
            n.remove("job").unwrap();
            assert!(!n.contains("job").unwrap());
            assert_eq!(n.get::<String>("job"), Err(Error::KeyNotFound("job".into())));
            assert_eq!(n.remove("job"), Err(Error::KeyNotFound("job".into())));
            assert!(matches!(n.get::<u32>("name"), Err(Error::Decode(_))));

            let v = manager.value(1.5f64).unwrap();
            assert_eq!(v.get().unwrap(), 1.5);
            v.set(&2.0).unwrap();
            assert_eq!(v.add(&0.5).unwrap(), 2.5);
            assert!(v.compare_and_set(&2.5, &3.0).unwrap());
            assert!(!v.compare_and_set(&2.5, &4.0).unwrap());
            assert_eq!(v.get_timeout(PATIENCE).unwrap(), 3.0);
            manager.shutdown().unwrap();
        });
    }

    fn nested_proxies_share_their_objects() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let outer = manager.dict::<String, ListProxy<i32>>().unwrap();
            {
                let inner = manager.list_from(&[1, 2]).unwrap();
                outer.insert(&"inner".into(), &inner).unwrap();
            }
            // Only the outer dict keeps the inner list alive now.
            let inner = outer.get(&"inner".into()).unwrap().unwrap();
            inner.push(&3).unwrap();
            let again = outer.get(&"inner".into()).unwrap().unwrap();
            assert_eq!(again.to_vec().unwrap(), [1, 2, 3], "written through the inner proxy");
            let child = Process::new(push_into_inner, outer.clone());
            child.start().unwrap();
            join(&child);
            assert_eq!(inner.to_vec().unwrap(), [1, 2, 3, 42], "a child wrote through it too");
            drop((inner, again));
            assert_eq!(manager.stats().unwrap().objects, 2);
            outer.remove(&"inner".into()).unwrap();
            common::wait_for("the unreferenced inner list to be freed", || {
                manager.stats().unwrap().objects == 1
            });
            let lists = manager.list::<DictProxy<String, u32>>().unwrap();
            lists.push(&manager.dict_from(&[("a".to_owned(), 1)]).unwrap()).unwrap();
            assert_eq!(lists.get(0).unwrap().get(&"a".into()).unwrap(), Some(1));
            drop(outer);
            drop(lists);
            common::wait_for("every object to be freed", || manager.stats().unwrap().objects == 0);
            manager.shutdown().unwrap();
        });
    }

    fn children_mutate_every_proxy_type() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let dict = manager.dict::<String, i64>().unwrap();
            let list = manager.list_from(&[1i64, 2, 3]).unwrap();
            let namespace = manager.namespace().unwrap();
            let value = manager.value(5i64).unwrap();
            let child = Process::new(
                mutate_all,
                (dict.clone(), list.clone(), namespace.clone(), value.clone()),
            );
            child.start().unwrap();
            join(&child);
            assert_eq!(dict.get(&"child".into()).unwrap(), Some(7));
            assert_eq!(dict.get(&"count".into()).unwrap(), Some(1));
            assert_eq!(list.to_vec().unwrap(), [-1, 2, 3, 4, 5]);
            assert!(namespace.get::<bool>("from_child").unwrap());
            assert_eq!(value.get().unwrap(), 15);

            let pids = manager.list::<u32>().unwrap();
            let children: Vec<_> = (0..3).map(|_| Process::new(append_pid, pids.clone())).collect();
            let expected: Vec<u32> = common::start_and_join_all(&children)
                .into_iter()
                .zip(&children)
                .map(|((), child)| child.pid().unwrap())
                .collect();
            let mut seen = pids.to_vec().unwrap();
            seen.sort_unstable();
            let mut expected = expected;
            expected.sort_unstable();
            assert_eq!(seen, expected, "each child appended its pid");
            manager.shutdown().unwrap();
        });
    }

    fn counters_with_a_lock_or_an_atomic_add_lose_nothing() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let rounds = 50;
            let locked = manager.dict::<String, i64>().unwrap();
            let lock = manager.lock().unwrap();
            let children: Vec<_> = (0..3)
                .map(|_| Process::new(locked_increments, (locked.clone(), lock.clone(), rounds)))
                .collect();
            common::start_and_join_all(&children);
            assert_eq!(locked.get(&"n".into()).unwrap(), Some(3 * i64::from(rounds)));
            let atomic = manager.dict::<String, i64>().unwrap();
            let children: Vec<_> = (0..3)
                .map(|_| Process::new(atomic_increments, (atomic.clone(), rounds)))
                .collect();
            common::start_and_join_all(&children);
            assert_eq!(atomic.get(&"n".into()).unwrap(), Some(3 * i64::from(rounds)));
            manager.shutdown().unwrap();
        });
    }

    fn synchronisation_objects_work_across_children() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let event = manager.event().unwrap();
            let queue = manager.queue::<String>(0).unwrap();
            let namespace = manager.namespace().unwrap();
            let child = Process::new(wait_and_answer, (event.clone(), queue.clone(), namespace.clone()));
            child.start().unwrap();
            namespace.set("word", "hello").unwrap();
            event.set();
            assert_eq!(queue.get_timeout(PATIENCE).unwrap(), "HELLO");
            join(&child);
            let semaphore = manager.bounded_semaphore(1).unwrap();
            semaphore.acquire().unwrap().leak();
            semaphore.release(1).unwrap();
            assert!(semaphore.release(1).is_err());
            assert_eq!(manager.barrier(1).unwrap().wait().unwrap(), 0);
            let rlock = manager.rlock().unwrap();
            let _outer = rlock.acquire().unwrap();
            let _inner = rlock.acquire().unwrap();
            let condition = manager.condition().unwrap();
            let guard = condition.acquire().unwrap();
            condition.notify_all().unwrap();
            drop(guard);
            let tasks = manager.joinable_queue::<u8>(0).unwrap();
            tasks.put(1).unwrap();
            tasks.get().unwrap();
            tasks.task_done().unwrap();
            tasks.join_timeout(PATIENCE).unwrap();
            let _ = manager.semaphore(2).unwrap();
            manager.shutdown().unwrap();
        });
    }

    fn iterating_a_container_that_changes_size_is_an_error() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let d = manager.dict::<u32, u32>().unwrap();
            d.update(&(0..200).map(|n| (n, n * n)).collect::<Vec<_>>()).unwrap();
            let all: Vec<(u32, u32)> = d.iter().collect::<Result<_, _>>().unwrap();
            assert_eq!(all.len(), 200);
            assert_eq!(all[199], (199, 199 * 199));
            let mut entries = d.iter();
            assert_eq!(entries.next(), Some(Ok((0, 0))));
            d.insert(&1000, &0).unwrap();
            let rest: Vec<_> = entries.collect();
            assert_eq!(rest.last(), Some(&Err(Error::ChangedSize)));
            assert!(rest[..rest.len() - 1].iter().all(Result::is_ok));
            // A change of value is not a change of size (as in Python).
            let mut entries = d.iter();
            entries.next().unwrap().unwrap();
            d.insert(&0, &1).unwrap();
            assert!(entries.all(|entry| entry.is_ok()));
            let l = manager.list_from(&[1u8; 100]).unwrap();
            let mut items = l.iter();
            items.next().unwrap().unwrap();
            l.pop(None).unwrap();
            assert_eq!(items.last(), Some(Err(Error::ChangedSize)));
            manager.shutdown().unwrap();
        });
    }

    fn shutdown_makes_every_call_fail_and_managers_restart() {
        watched(|| {
            for _ in 0..4 {
                let manager = Manager::start().unwrap();
                let d = manager.dict::<u8, u8>().unwrap();
                d.insert(&1, &1).unwrap();
                assert!(manager.is_alive());
                manager.shutdown().unwrap();
                assert!(!manager.is_alive());
                assert_eq!(d.get(&1), Err(Error::ManagerGone));
                assert_eq!(d.len_timeout(PATIENCE), Err(Error::ManagerGone));
                assert_eq!(manager.dict::<u8, u8>().map(drop), Err(Error::ManagerGone));
                manager.shutdown().unwrap();
            }
            // Dropping the last handle stops the server too.
            let manager = Manager::start().unwrap();
            let pid = manager.pid().unwrap();
            let l = manager.list::<u8>().unwrap();
            l.push(&1).unwrap();
            let copy = manager.clone();
            drop(manager);
            assert_eq!(l.len().unwrap(), 1, "a clone keeps it running");
            drop(copy);
            assert_eq!(l.len(), Err(Error::ManagerGone));
            common::wait_for("the server to end", || {
                !active_children().iter().any(|child| child.pid() == Some(pid))
            });
        });
    }

    fn a_killed_manager_fails_blocked_calls_with_a_typed_error() {
        watched(|| {
            let mut random = shuffle_seed(0x5eed_1234);
            for round in 0..KILL_ROUNDS {
                let manager = Manager::start().unwrap();
                let dict = manager.dict::<u32, u32>().unwrap();
                let callers: Vec<_> = (0..2)
                    .map(|_| {
                        let dict = dict.clone();
                        amphi::Thread::spawn(move || call_until_gone(dict)).unwrap()
                    })
                    .collect();
                let child = Process::new(child_calls_until_gone, dict.clone());
                child.start().unwrap();
                amphi::thread::sleep(Duration::from_millis(random() % 30)).unwrap();
                kill_process(manager.pid().unwrap());
                for caller in callers {
                    assert_eq!(caller.join_timeout(PATIENCE).unwrap(), Error::ManagerGone, "round {round}");
                }
                assert!(join(&child), "round {round}: the child's call failed with ManagerGone");
                assert_eq!(dict.len(), Err(Error::ManagerGone));
            }
            // A call made while the server never ran at all.
            let manager = Manager::start().unwrap();
            kill_process(manager.pid().unwrap());
            assert!(matches!(manager.dict::<u8, u8>(), Err(Error::ManagerGone)));
        });
    }

    fn a_killed_client_releases_its_references() {
        watched(|| {
            let manager = Manager::start().unwrap();
            let held: Vec<DictProxy<u32, u32>> = (0..3).map(|_| manager.dict().unwrap()).collect();
            let ready = Event::new().unwrap();
            let child = Process::new(hold_and_sleep, (held.clone(), ready.clone()));
            child.start().unwrap();
            ready.wait_timeout(PATIENCE).unwrap();
            drop(held);
            // The child's references keep the three dicts alive (its adoptions reached the
            // server before it said it was ready, our releases before this call).
            assert_eq!(manager.stats().unwrap().objects, 3);
            child.kill().unwrap();
            assert!(child.join_timeout(PATIENCE).is_err());
            common::wait_for("the killed child's references to be released", || {
                manager.stats().unwrap().objects == 0
            });
            manager.shutdown().unwrap();
        });
    }
}

conformance_async! {
    async fn every_call_has_an_async_form() {
        let manager = Manager::start().unwrap();
        let d = manager.dict_async::<String, u32>().await.unwrap();
        assert_eq!(d.insert_async(&"a".into(), &1).await.unwrap(), None);
        assert_eq!(d.get_async(&"a".into()).await.unwrap(), Some(1));
        assert_eq!(d.add_async(&"a".into(), &2).await.unwrap(), 3);
        let l = manager.list_async::<u32>().await.unwrap();
        l.extend_async(&[3, 1, 2]).await.unwrap();
        l.sort_async().await.unwrap();
        assert_eq!(l.to_vec_async().await.unwrap(), [1, 2, 3]);
        let n = manager.namespace_async().await.unwrap();
        n.set_async("x", &1).await.unwrap();
        assert_eq!(n.get_async::<u32>("x").await.unwrap(), 1);
        let v = manager.value_async(1u8).await.unwrap();
        assert_eq!(v.get_async().await.unwrap(), 1);
        assert_eq!(manager.stats_async().await.unwrap().objects, 4);
        manager.shutdown_async().await.unwrap();
        assert_eq!(d.get_async(&"a".into()).await, Err(Error::ManagerGone));
    }

    async fn a_dropped_call_does_not_disturb_later_ones() {
        let manager = Manager::start().unwrap();
        let d = manager.dict_async::<u32, u32>().await.unwrap();
        for n in 0..20 {
            // Sent, perhaps answered, never awaited: its connection is closed, not reused.
            let mut pending = Box::pin(d.insert_async(&n, &n));
            let _ = common::poll_once(pending.as_mut());
            drop(pending);
            assert_eq!(d.get_async(&1000).await, Ok(None), "no reply meant for another call");
        }
        assert!(d.len_async().await.unwrap() <= 20);
        manager.shutdown_async().await.unwrap();
    }
}

#[allow(dead_code)]
fn value_is_used(_: Value<u8>) {}

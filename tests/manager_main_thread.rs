//! A manager used from the browser's main thread: it starts there (starting its server does
//! not wait), the blocking forms of proxy calls return `WouldBlock` before sending anything,
//! and the async forms work, so a page can await a manager's dicts without trapping. Reference
//! counts posted there (a proxy serialised, deserialised or dropped), which cannot wait for
//! room in their ring, are never lost: thousands at once all reach the server.
//!
//! In the browser these tests run on the page's main thread (not in a worker). Natively every
//! thread may block, so the same blocking calls succeed; that counterpart runs too.

use amphi::process::{DictProxy, Manager};
use amphi::Error;

/// Posts thousands of reference counts at once (a dict's token serialised into a list, then
/// deserialised into as many proxies, all dropped), more than a ring holds, then checks that
/// every object is freed: no count was lost (a lost release would keep the dict alive, a lost
/// serialisation free it too early).
async fn thousands_of_reference_counts_at_once_all_count() {
    const MANY: usize = 4000;
    let manager = Manager::start().unwrap();
    let dict = manager.dict_async::<u8, u8>().await.unwrap();
    let outer = manager.list_async::<DictProxy<u8, u8>>().await.unwrap();
    outer.extend_async(&vec![dict.clone(); MANY]).await.unwrap();
    let copies = outer.to_vec_async().await.unwrap();
    assert_eq!(copies.len(), MANY);
    assert_eq!(copies[MANY - 1].insert_async(&1, &2).await, Ok(None));
    assert_eq!(
        dict.get_async(&1).await,
        Ok(Some(2)),
        "the copies are the dict"
    );
    drop(copies);
    drop(dict);
    drop(outer);
    // Every call first sends what is queued: the objects go once every release is counted.
    let mut stats = manager.stats_async().await.unwrap();
    for _ in 0..100_000 {
        if stats.objects == 0 {
            break;
        }
        stats = manager.stats_async().await.unwrap();
    }
    assert_eq!(stats.objects, 0, "every reference count reached the server");
    manager.shutdown_async().await.unwrap();
}

#[cfg(target_arch = "wasm32")]
mod browser {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    #[wasm_bindgen_test]
    async fn blocking_forms_refuse_and_async_forms_work() {
        let manager = Manager::start().expect("a manager starts on the main thread");
        assert_eq!(manager.dict::<u8, u8>().map(drop), Err(Error::WouldBlock));
        let dict = manager.dict_async::<String, u32>().await.unwrap();
        assert_eq!(dict.insert(&"a".into(), &1), Err(Error::WouldBlock));
        assert_eq!(
            dict.len_async().await,
            Ok(0),
            "the refused insert sent nothing"
        );
        assert_eq!(dict.insert_async(&"a".into(), &1).await, Ok(None));
        assert_eq!(dict.add_async(&"a".into(), &41).await, Ok(42));
        let list = manager.list_async::<u32>().await.unwrap();
        list.extend_async(&[2, 1]).await.unwrap();
        list.sort_async().await.unwrap();
        assert_eq!(list.to_vec_async().await, Ok(vec![1, 2]));
        assert_eq!(manager.shutdown(), Err(Error::WouldBlock));
        manager.shutdown_async().await.unwrap();
        assert_eq!(dict.get_async(&"a".into()).await, Err(Error::ManagerGone));
    }

    #[wasm_bindgen_test]
    async fn reference_counts_posted_on_the_main_thread_are_never_lost() {
        thousands_of_reference_counts_at_once_all_count().await;
    }
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn blocking_and_async_forms_work_where_threads_may_block() {
    fn sendable<F: Send>(future: F) -> F {
        future
    }
    let manager = Manager::start().unwrap();
    let dict = manager.dict::<String, u32>().unwrap();
    assert_eq!(dict.insert(&"a".into(), &1), Ok(None));
    let key = "a".to_owned();
    // Natively the async forms' futures may move between threads (a multi-threaded executor).
    assert_eq!(
        futures_executor::block_on(sendable(dict.add_async(&key, &41))),
        Ok(42)
    );
    manager.shutdown().unwrap();
    assert_eq!(dict.len(), Err(Error::ManagerGone));
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn reference_counts_posted_at_once_are_never_lost() {
    futures_executor::block_on(thousands_of_reference_counts_at_once_all_count());
}

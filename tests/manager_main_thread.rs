//! A manager used from the browser's main thread: it starts there (starting its server does
//! not wait), the blocking forms of proxy calls return `WouldBlock` before sending anything,
//! and the async forms work, so a page can await a manager's dicts without trapping.
//!
//! In the browser these tests run on the page's main thread (not in a worker). Natively every
//! thread may block, so the same blocking calls succeed; that counterpart runs too.

use amphi::process::Manager;
use amphi::Error;

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
}

#[cfg(not(target_arch = "wasm32"))]
#[test]
fn blocking_and_async_forms_work_where_threads_may_block() {
    let manager = Manager::start().unwrap();
    let dict = manager.dict::<String, u32>().unwrap();
    assert_eq!(dict.insert(&"a".into(), &1), Ok(None));
    assert_eq!(
        futures_executor::block_on(dict.add_async(&"a".into(), &41)),
        Ok(42)
    );
    manager.shutdown().unwrap();
    assert_eq!(dict.len(), Err(Error::ManagerGone));
}

//! [`amphi::process::connection`] in the browser, which has no sockets: binding, connecting
//! and making a random key are [`Error::Unsupported`], with a message that says so, while the
//! platform-free parts ([`Address`], [`AuthKey::new`]) work as natively.
//!
//! Browser only: `tests/connection.rs` covers the native sockets.

#![cfg(target_arch = "wasm32")]

use amphi::process::connection::{Address, AuthKey, Client, Listener};
use amphi::Error;
use wasm_bindgen_test::wasm_bindgen_test;

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn sockets_are_unsupported_in_the_browser() {
    let key = AuthKey::new(b"key".to_vec()).expect("a key from bytes");
    for text in ["unix:/run/app.sock", "127.0.0.1:5000"] {
        let address: Address = text.parse().expect("addresses parse everywhere");
        let Err(Error::Unsupported(why)) = Listener::bind(&address, &key) else {
            panic!("bind {text} did not say unsupported");
        };
        assert!(why.contains("natively only"), "{why}");
        assert!(matches!(
            Client::connect(&address, &key),
            Err(Error::Unsupported(_))
        ));
    }
    assert!(matches!(AuthKey::random(), Err(Error::Unsupported(_))));
}

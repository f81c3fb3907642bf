//! `amphi manager serve` as a process: a standalone manager whose key comes from the
//! environment or a file, reached by this test with `Manager::connect`, and stopped by a
//! signal to its pid or by a client's shutdown. Every wait has a bound: a hang fails the test.

#![cfg(not(target_arch = "wasm32"))]

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use amphi::process::connection::{Address, AuthKey};
use amphi::process::Manager;
use amphi::Error;

/// How long any one wait of these tests may take (never reached when all is well).
const PATIENCE: Duration = Duration::from_secs(60);

/// The key of these tests, as the environment gives it.
const KEY: &str = "a key for the manager serve tests";

fn socket_path(what: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "amphi-cli-manager-{what}-{}.sock",
        std::process::id()
    ))
}

/// `amphi manager serve ADDRESS` with `env` set, its output piped.
fn serve(address: &str, env: &[(&str, &str)], extra: &[&str]) -> Child {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_amphi"));
    command
        .args(["manager", "serve", address])
        .args(extra)
        .env_remove("AMPHI_AUTHKEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    command.spawn().expect("start amphi manager serve")
}

/// The address the server printed (`listening on ADDRESS`), read within [`PATIENCE`], and
/// the lines it prints next (its output is read until it ends, so that it never writes to a
/// closed pipe).
fn listening_address(server: &mut Child) -> (Address, mpsc::Receiver<String>) {
    let stdout = server.stdout.take().expect("piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if sender.send(line).is_err() {
                return;
            }
        }
    });
    let line = receiver
        .recv_timeout(PATIENCE)
        .expect("the server printed its address in time");
    let address = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("a `listening on` line: {line:?}"));
    (
        address.parse().expect("the printed address parses"),
        receiver,
    )
}

/// Waits for `child` to end, killing it (and failing) after [`PATIENCE`].
fn wait_bounded(child: &mut Child) -> ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if start.elapsed() > PATIENCE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not end within {PATIENCE:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn key() -> AuthKey {
    AuthKey::new(KEY.as_bytes().to_vec()).expect("a key")
}

#[test]
fn a_served_manager_is_used_then_stopped_by_a_signal_to_its_pid() {
    let path = socket_path("signal");
    let _ = std::fs::remove_file(&path);
    let mut server = serve(
        &format!("unix:{}", path.display()),
        &[("AMPHI_AUTHKEY", KEY)],
        &[],
    );
    let (address, _output) = listening_address(&mut server);
    assert_eq!(address, Address::unix(&path));
    let manager = Manager::connect(&address, &key()).expect("connect with the key");
    let dict = manager.dict::<String, i64>().unwrap();
    dict.insert(&"a".into(), &1).unwrap();
    assert_eq!(dict.add(&"a".into(), &41).unwrap(), 42);
    assert_eq!(dict.items().unwrap(), [("a".to_owned(), 42)]);

    let stopped = std::process::Command::new("kill")
        .arg(server.id().to_string())
        .status()
        .expect("run kill");
    assert!(stopped.success(), "kill {}", server.id());
    let status = wait_bounded(&mut server);
    assert!(!status.success(), "a signal ended it: {status:?}");
    assert_gone(dict.len());
    let _ = std::fs::remove_file(&path);
}

/// A call to a server that ended: [`Error::ManagerGone`].
fn assert_gone(result: amphi::Result<usize>) {
    assert_eq!(result, Err(Error::ManagerGone));
}

#[test]
fn a_client_shutdown_ends_the_served_manager() {
    let key_file =
        std::env::temp_dir().join(format!("amphi-cli-manager-key-{}", std::process::id()));
    std::fs::write(&key_file, format!("{KEY}\n")).expect("write the key file");
    let key_file_text = key_file.display().to_string();
    let mut server = serve(
        "tcp://127.0.0.1:0",
        &[],
        &["--authkey-file", &key_file_text],
    );
    let (address, output) = listening_address(&mut server);
    let manager = Manager::connect(&address, &key()).expect("connect with the file's key");
    let list = manager.list::<u32>().unwrap();
    list.extend(&[1, 2, 3]).unwrap();
    assert_eq!(list.len().unwrap(), 3);

    let wrong = AuthKey::new(b"another key".to_vec()).unwrap();
    assert!(matches!(
        Manager::connect(&address, &wrong),
        Err(Error::AuthenticationFailed(_))
    ));
    assert_eq!(
        list.len().unwrap(),
        3,
        "the server serves on after a wrong key"
    );

    manager.shutdown().unwrap();
    let status = wait_bounded(&mut server);
    assert!(status.success(), "{status:?}");
    assert_eq!(
        output.recv_timeout(PATIENCE).as_deref(),
        Ok("shut down by a client")
    );
    assert_gone(list.len());
    let _ = std::fs::remove_file(&key_file);
}

#[test]
fn without_a_key_the_server_refuses_to_start() {
    let mut server = serve("tcp://127.0.0.1:0", &[], &[]);
    let status = wait_bounded(&mut server);
    assert!(!status.success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(server.stderr.as_mut().expect("piped"), &mut stderr).unwrap();
    assert!(stderr.contains("AMPHI_AUTHKEY"), "{stderr}");
}

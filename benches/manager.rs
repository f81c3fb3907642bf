//! The manager against Python's `multiprocessing.Manager()`, measured in the same run:
//!
//! - start-up: `Manager::start` until its first `dict()` returned (the server up and
//!   answering), against Python's `Manager()` and its first `dict()`;
//! - a dict proxy's round trip: `get` and `insert` of a small entry, against Python's `d[k]`
//!   and `d[k] = v` on a `DictProxy`.
//!
//! Python runs from `benches/peers/python_manager.py` with `python3` (skipped with a note if
//! there is none). Run with `cargo bench --bench manager` (native only: on wasm32 this is an
//! empty `main`).

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::process::Command;

    use amphi::process::Manager;
    use amphi::time::Instant;

    const STARTS: u32 = 10;
    const CALLS: u32 = 50_000;
    const PYTHON_CALLS: u32 = 5_000;

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

    pub(crate) fn main() {
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

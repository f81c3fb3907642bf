#!/usr/bin/env bash
# Runs every benchmark, each against its peers measured in the same run, and prints the ratios:
#   1. the native criterion benchmarks (benches/: lock, event, semaphore, condition, queue, pool;
#      the pool benchmark also prints its per-item cost against Python's ThreadPool.map and
#      Pool.map, run by benches/peers/python_pool.py);
#   2. the browser benchmarks (www/bench.html in headless Chromium, after release builds of the
#      npm package into pkg/ and of the pool benchmark against wasm-bindgen-rayon, the
#      bench-pool crate, into www/bench-pkg/);
#      the browser page also runs amphi's process Pool next to the thread pools;
#      then benches/process.rs, benches/process_queue.rs and benches/process_pool.rs once each
#      (processes, process queues and pipes, the process Pool and Executor, against Python's
#      multiprocessing and ProcessPoolExecutor, which each benchmark runs itself), the
#      process pools over Redis (benches/redis_pool.rs, against the local pool and a plain Python
#      XREADGROUP worker), and the CPU-bound speed-up of the thread pool against rayon on 1, 2, 4, ... workers up to the
#      cores (bench-pool/benches/cpu_speedup.rs);
#   3. a Markdown summary of amphi's figures, the peers' and the ratios (scripts/bench-report.mjs).
# Both kinds run AMPHI_BENCH_ROUNDS times (default 3; each round is kept under
# target/bench-runs/) and the summary gives the median ratio with its range, since a busy
# machine easily moves one round's figures. About 5 minutes on 2 cores once everything is built.
# Nothing here asserts on timings.
#   bash scripts/bench.sh                            # everything, 3 rounds
#   AMPHI_BENCH_ROUNDS=1 bash scripts/bench.sh       # one round
#   AMPHI_BENCH_BROWSER=0 bash scripts/bench.sh      # native only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
section() { printf '\n\033[1m== %s\033[0m (load average: %s)\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }

rounds=${AMPHI_BENCH_ROUNDS:-3}
target_dir=${CARGO_TARGET_DIR:-target}
runs=$target_dir/bench-runs
rm -rf "$runs"
mkdir -p "$runs"
report_args=()
native=(--bench lock --bench event --bench semaphore --bench condition --bench queue --bench pool)

cargo bench --no-run "${native[@]}"
for round in $(seq 1 "$rounds"); do
  section "native, round $round of $rounds: cargo bench ${native[*]}"
  cargo bench "${native[@]}" | tee "$runs/native-$round.txt"
  cp -r "$target_dir/criterion" "$runs/criterion-$round"
  report_args+=(--criterion "$runs/criterion-$round" --pool "$runs/native-$round.txt")
done

if [ "${AMPHI_BENCH_BROWSER:-1}" != 0 ]; then
  section "browser: build the npm package (release)"
  node scripts/build-pkg.mjs
  section "browser: build the pool benchmark against wasm-bindgen-rayon (release, www/bench-pkg/)"
  node scripts/bench-build-web.mjs
  for round in $(seq 1 "$rounds"); do
    section "browser, round $round of $rounds: www/bench.html in Chromium"
    timeout 600 node scripts/bench-browser.mjs --out "$runs/browser-$round.json"
    report_args+=(--browser "$runs/browser-$round.json")
  done
fi

section "processes: amphi::process::Process against Python's multiprocessing (spawn, fork)"
cargo bench -q --bench process | tee "$runs/process.txt"

section "process queues and pipes: amphi::process::Queue and Pipe against Python's multiprocessing.Queue and Pipe"
cargo bench -q --bench process_queue | tee "$runs/process_queue.txt"

section "process pool: amphi::process::Pool and Executor against Python's Pool and ProcessPoolExecutor"
cargo bench -q --bench process_pool | tee "$runs/process_pool.txt"
report_args+=(--process-pool "$runs/process_pool.txt")

section "process pools over Redis: amphi::process::Pool::connect against the local Pool and a plain Python XREADGROUP worker"
cargo bench -q --features redis --bench redis_pool | tee "$runs/redis_pool.txt"

section "thread pool: CPU-bound speed-up on 1..N workers against rayon"
cargo bench -q -p amphi-bench-pool --bench cpu_speedup | tee "$runs/cpu_speedup.txt"
report_args+=(--cpu-speedup "$runs/cpu_speedup.txt")

section "summary: amphi / peer (below 1: amphi is faster)"
echo "machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), Linux $(uname -r)"
node scripts/bench-report.mjs "${report_args[@]}"

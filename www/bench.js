// The amphi benchmark page: runs each browser benchmark in turn (on Web Workers; the page never
// blocks) and shows amphi's and the peer's time per op and their ratio. Then the pool benchmark
// (www/bench-pkg/, built by scripts/bench-build-web.mjs from the bench-pool crate): amphi's
// ThreadPool against wasm-bindgen-rayon in this same page load, on POOL_WORKERS workers each:
// pool start, and the same CPU-bound work serial and on each pool (amphi's awaited from this
// main thread; wasm-bindgen-rayon's par_iter called from it, which spins until done). Next to
// them amphi's process Pool, on as many process workers (each its own instance of the module),
// awaited from this main thread, each figure set against amphi's ThreadPool in the same page:
// start, per-task overhead with chunksize 1, map throughput with chunking, and the CPU-bound
// work. When all have run, #results holds the JSON array of results and <body data-status> is "done" (or
// "failed", with the reason in #progress and #results).
// `bench.html?only=NAME[,NAME...]` runs only the named benchmarks (`pool` for the pool rows), for
// example `?only=lock-contended`.

import init, { runBenchmark } from './pkg/amphi.js';

const BENCHMARKS = ['lock-contended', 'event-ping-pong', 'queue-throughput'];
/** The pool benchmark's shape: workers per pool, and the CPU-bound work (items, hash rounds
 *  per item, timed runs of each variant, whose median is shown). */
const POOL_WORKERS = 2;
const CPU_ITEMS = 2000;
const CPU_ROUNDS = 60000;
const CPU_RUNS = 5;
/** The process pool's per-task overhead (a map of PROCESS_TASKS trivial items, chunksize 1) and
 *  throughput (a map of PROCESS_ITEMS trivial items, Python's default chunks), PROCESS_RUNS
 *  timed runs each (median), after one untimed. */
const PROCESS_TASKS = 2000;
const PROCESS_ITEMS = 500000;
const PROCESS_RUNS = 5;
const $ = (id) => document.getElementById(id);

/** The benchmarks `?only=` names (every one without it); `pool` stands for all the pool rows. */
const only = new URLSearchParams(location.search).get('only')?.split(',').filter(Boolean) ?? null;
const selected = (name) => only === null || only.includes(name);

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

/** A time per op, given in ns, in the unit that suits it. */
function formatTime(ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${ns.toFixed(1)} ns`;
}

function addRow(result) {
  const row = document.createElement('tr');
  row.append(
    cell(result.name),
    cell(result.op),
    cell(result.amphi),
    cell(formatTime(result.amphi_ns_per_op), 'number'),
    cell(result.peer),
    cell(formatTime(result.peer_ns_per_op), 'number'),
    cell(`${result.ratio.toFixed(2)}x`, 'number'),
    cell(result.amphi_speedup ? `${result.amphi_speedup.toFixed(2)}x` : '', 'number'),
    cell(result.peer_speedup ? `${result.peer_speedup.toFixed(2)}x` : '', 'number'),
  );
  $('rows').append(row);
}

/** The pool benchmark's rows, in the shape of runBenchmark's results (times per op in ns), with
 *  the speed-ups over the serial run where the op is the CPU-bound work. */
async function poolBenchmarks() {
  let pool;
  try {
    pool = await import('./bench-pkg/amphi_bench_pool.js');
  } catch (error) {
    throw new Error(`could not load bench-pkg/ (build it: node scripts/bench-build-web.mjs): ${error}`);
  }
  await pool.default();
  const start = await pool.poolStart(POOL_WORKERS);
  const processStart = await pool.processPoolStart(POOL_WORKERS);
  const processTasks = await pool.processPoolTasks(PROCESS_TASKS, PROCESS_ITEMS, PROCESS_RUNS);
  const cpu = await pool.cpuWork(CPU_ITEMS, CPU_ROUNDS, CPU_RUNS);
  const ns = (ms) => ms * 1e6;
  const work = `hash ${cpu.items} items x ${cpu.rounds} rounds (serial ${cpu.serial_ms.toFixed(1)} ms)`;
  const peerParIter = `wasm-bindgen-rayon par_iter, ${POOL_WORKERS} workers (main thread spins)`;
  return [
    {
      name: 'pool-start',
      op: `start ${POOL_WORKERS} workers until each has run a task`,
      amphi: `ThreadPool::new(${POOL_WORKERS}) + broadcast task (new returned: ${start.amphi_new_ms.toFixed(2)} ms)`,
      amphi_ns_per_op: ns(start.amphi_all_workers_ran_ms),
      peer: `initThreadPool(${POOL_WORKERS}) + broadcast (init resolved: ${start.peer_init_ms.toFixed(2)} ms)`,
      peer_ns_per_op: ns(start.peer_all_workers_ran_ms),
      ratio: start.amphi_all_workers_ran_ms / start.peer_all_workers_ran_ms,
      start,
    },
    {
      name: 'pool-cpu-map-async',
      op: work,
      amphi: `ThreadPool::map_async awaited, ${POOL_WORKERS} workers (main thread idle)`,
      amphi_ns_per_op: ns(cpu.amphi_map_async_ms),
      peer: peerParIter,
      peer_ns_per_op: ns(cpu.peer_par_iter_ms),
      ratio: cpu.amphi_map_async_ms / cpu.peer_par_iter_ms,
      amphi_speedup: cpu.amphi_map_async_speedup,
      peer_speedup: cpu.peer_par_iter_speedup,
      cpu,
    },
    {
      name: 'pool-cpu-par-iter',
      op: work,
      amphi: `par_iter in a ThreadPool task, awaited, ${POOL_WORKERS} workers (main thread idle)`,
      amphi_ns_per_op: ns(cpu.amphi_par_iter_ms),
      peer: peerParIter,
      peer_ns_per_op: ns(cpu.peer_par_iter_ms),
      ratio: cpu.amphi_par_iter_ms / cpu.peer_par_iter_ms,
      amphi_speedup: cpu.amphi_par_iter_speedup,
      peer_speedup: cpu.peer_par_iter_speedup,
      cpu,
    },
    {
      name: 'process-pool-start',
      op: `start ${POOL_WORKERS} process workers until each has run a task`,
      amphi: `process::Pool::new(${POOL_WORKERS}) + ${POOL_WORKERS} tasks meeting at a Barrier (new returned: ${processStart.new_ms.toFixed(2)} ms)`,
      amphi_ns_per_op: ns(processStart.all_workers_ran_ms),
      peer: `ThreadPool::new(${POOL_WORKERS}) + broadcast task (above)`,
      peer_ns_per_op: ns(start.amphi_all_workers_ran_ms),
      ratio: processStart.all_workers_ran_ms / start.amphi_all_workers_ran_ms,
      processStart,
    },
    {
      name: 'process-pool-task',
      op: `one task of a ${processTasks.tasks}-item map of a trivial function, chunksize 1`,
      amphi: `process::Pool::map_async_with(.., Some(1)) awaited, ${POOL_WORKERS} process workers`,
      amphi_ns_per_op: processTasks.process_task_us * 1e3,
      peer: `ThreadPool::map_async_with(.., Some(1)) awaited, ${POOL_WORKERS} workers`,
      peer_ns_per_op: processTasks.thread_task_us * 1e3,
      ratio: processTasks.process_task_us / processTasks.thread_task_us,
      processTasks,
    },
    {
      name: 'process-pool-map-throughput',
      op: `one item of a ${processTasks.items}-item map of a trivial function, default chunks`,
      amphi: `process::Pool::map_async awaited, ${POOL_WORKERS} process workers`,
      amphi_ns_per_op: 1e9 / processTasks.process_items_per_s,
      peer: `ThreadPool::map_async awaited, ${POOL_WORKERS} workers`,
      peer_ns_per_op: 1e9 / processTasks.thread_items_per_s,
      ratio: processTasks.thread_items_per_s / processTasks.process_items_per_s,
      amphi_items_per_s: processTasks.process_items_per_s,
      peer_items_per_s: processTasks.thread_items_per_s,
      processTasks,
    },
    {
      name: 'process-pool-cpu-map-async',
      op: work,
      amphi: `process::Pool::map_async awaited, ${POOL_WORKERS} process workers (main thread idle)`,
      amphi_ns_per_op: ns(cpu.process_map_async_ms),
      peer: `ThreadPool::map_async awaited, ${POOL_WORKERS} workers (pool-cpu-map-async)`,
      peer_ns_per_op: ns(cpu.amphi_map_async_ms),
      ratio: cpu.process_map_async_ms / cpu.amphi_map_async_ms,
      amphi_speedup: cpu.process_map_async_speedup,
      peer_speedup: cpu.amphi_map_async_speedup,
      rayon_speedup: cpu.peer_par_iter_speedup,
      cpu,
    },
  ];
}

async function main() {
  if (!self.crossOriginIsolated) {
    const box = $('isolation');
    box.hidden = false;
    box.textContent = 'This page is not cross-origin isolated, so amphi threads cannot start: serve ' +
      'it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: ' +
      'require-corp (as `npm start` does).';
  }
  await init();
  document.body.dataset.status = 'running';
  const results = [];
  const unknown = (only ?? []).filter((name) => name !== 'pool' && !BENCHMARKS.includes(name));
  if (unknown.length > 0) {
    throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.join(', ')}, pool`);
  }
  for (const name of BENCHMARKS.filter(selected)) {
    $('progress').textContent = `Running ${name}…`;
    const result = await runBenchmark(name);
    results.push(result);
    addRow(result);
  }
  if (selected('pool')) {
    $('progress').textContent =
      'Running the pool benchmark (amphi ThreadPool against wasm-bindgen-rayon, and amphi process Pool)…';
    for (const result of await poolBenchmarks()) {
      results.push(result);
      addRow(result);
    }
  }
  $('progress').textContent = 'Done.';
  $('results').textContent = JSON.stringify(results, null, 2);
  document.body.dataset.status = 'done';
}

main().catch((error) => {
  const why = `the benchmarks failed: ${error?.stack ?? error}`;
  $('progress').textContent = why;
  $('results').textContent = JSON.stringify({ error: String(error?.message ?? error) });
  document.body.dataset.status = 'failed';
});

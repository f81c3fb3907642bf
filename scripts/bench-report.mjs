// Prints the benchmark figures as Markdown tables: for every criterion group, amphi's mean time
// per iteration (criterion's `mean.point_estimate`), each peer's, and the ratio amphi/peer
// (below 1: amphi is faster), with the target where one is set; then the browser results
// written by scripts/bench-browser.mjs, and the browser's process pool figures next to its
// thread pool's and wasm-bindgen-rayon's; then the pool figures outside criterion: the lines
// `cargo bench --bench pool` prints against Python's pools (from its saved output, FILE given
// with --pool), the CPU-bound speed-up table of `cargo bench -p amphi-bench-pool --bench
// cpu_speedup` (its saved output, --cpu-speedup FILE), and the lines of `cargo bench --bench
// process_pool` (the process pool against Python's, --process-pool FILE), as they are.
//   node scripts/bench-report.mjs [--criterion DIR]... [--browser FILE]... [--pool FILE]...
//                                 [--cpu-speedup FILE] [--process-pool FILE]
// DIR defaults to target/criterion. Given several rounds (one DIR or FILE per round), each
// ratio is taken within its round (amphi and peer measured in the same run), and the table
// shows the median over the rounds, with the lowest and highest ratio; times are medians too.
// A group's amphi figures are the benchmarks whose ids start with "amphi"; every other benchmark
// in the group is a peer, and each amphi figure is set against each peer. Groups added later are
// picked up as they are.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const options = (name) =>
  process.argv.flatMap((arg, index) => (arg === name ? [process.argv[index + 1]] : []));
const criterionDirs = options('--criterion');
if (criterionDirs.length === 0) criterionDirs.push(join(root, 'target', 'criterion'));
const browserFiles = options('--browser');
const poolFiles = options('--pool');
const cpuSpeedupFiles = options('--cpu-speedup');
const processPoolFiles = options('--process-pool');

/** Targets: the largest acceptable amphi/peer ratio, per group and peer. */
const TARGETS = {
  'lock_uncontended/parking_lot': 1.2,
  'lock_contended_2_threads/std_mutex': 1.0,
  'event_ping_pong_round_trip/raw_futex': 1.5,
  // At least two thirds of crossbeam-channel's throughput: at most 1.5x its time per item.
  'queue_throughput_spsc/crossbeam_bounded': 1.5,
  'queue_throughput_4x4/crossbeam_bounded': 1.5,
  // ThreadPool::map per item within 1.5x of rayon's par_iter().map().collect().
  'pool_map_per_item/amphi_map/rayon_par_iter': 1.5,
  // apply_async(f).get() no slower than rayon's install round trip.
  'pool_apply_round_trip/rayon_install': 1.0,
};
/** Browser targets: the largest acceptable amphi/peer ratio, or the smallest acceptable speed-up
 *  of amphi over the serial run (2 workers, the page's main thread awaiting). */
const BROWSER_TARGETS = {
  'pool-start': { ratio: 1.0 },
  'pool-cpu-map-async': { speedup: 1.9 },
  'pool-cpu-par-iter': { speedup: 1.9 },
};
/** The order groups are printed in; others follow, alphabetically. */
const GROUP_ORDER = [
  'lock_uncontended',
  'lock_contended_2_threads',
  'event_ping_pong_round_trip',
  'condition_ping_pong_round_trip',
  'semaphore_uncontended',
  'semaphore_contended_2_threads',
  'queue_throughput_spsc',
  'queue_throughput_4x4',
  'queue_ping_pong_round_trip',
  'pool_map_per_item',
  'pool_map_chunksize_1_per_item',
  'pool_apply_round_trip',
];

const readJson = (file) => JSON.parse(readFileSync(file, 'utf8'));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

/** `{ ratio, low, high, rounds }` from the ratios of several rounds. */
function summarise(ratios) {
  return { ratio: median(ratios), low: Math.min(...ratios), high: Math.max(...ratios), rounds: ratios.length };
}

function formatRatio({ ratio, low, high, rounds }) {
  const range = rounds > 1 ? ` (${low.toFixed(2)}–${high.toFixed(2)})` : '';
  return `${ratio.toFixed(2)}x${range}`;
}

function formatNs(ns) {
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(2)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(2)} µs`;
  return ns >= 10 ? `${ns.toFixed(1)} ns` : `${ns.toFixed(2)} ns`;
}

function verdict(ratio, target) {
  if (target === undefined) return '';
  return `≤ ${target.toFixed(2)}x: ${ratio <= target ? 'met' : 'missed'}`;
}

/** `[{ group, id, ns }]` for every benchmark criterion has measured into `criterionDir`. */
function criterionResults(criterionDir) {
  if (!existsSync(criterionDir)) return [];
  const results = [];
  for (const group of readdirSync(criterionDir)) {
    const groupDir = join(criterionDir, group);
    let entries;
    try {
      entries = readdirSync(groupDir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const estimates = join(groupDir, entry, 'new', 'estimates.json');
      const benchmark = join(groupDir, entry, 'new', 'benchmark.json');
      if (!existsSync(estimates) || !existsSync(benchmark)) continue;
      const { group_id: groupId, function_id: id } = readJson(benchmark);
      results.push({ group: groupId, id, ns: readJson(estimates).mean.point_estimate });
    }
  }
  return results;
}

/** One row per (group, peer) over every round: median times and the ratios' summary. */
function nativeTable(rounds) {
  const all = rounds.flat();
  const groups = [...new Set(all.map((r) => r.group))].sort((a, b) => {
    const rank = (g) => (GROUP_ORDER.includes(g) ? GROUP_ORDER.indexOf(g) : GROUP_ORDER.length);
    return rank(a) - rank(b) || a.localeCompare(b);
  });
  const lines = [
    '| benchmark | amphi | time | peer | time | amphi / peer | target |',
    '|---|---|---:|---|---:|---:|---|',
  ];
  for (const group of groups) {
    const ids = [...new Set(all.filter((r) => r.group === group).map((r) => r.id))];
    const amphiIds = ids.filter((id) => id.startsWith('amphi')).sort();
    const peerIds = ids.filter((id) => !id.startsWith('amphi'));
    for (const [amphiId, peerId] of amphiIds.flatMap((a) => peerIds.map((p) => [a, p]))) {
      const pairs = rounds
        .map((round) => [
          round.find((r) => r.group === group && r.id === amphiId),
          round.find((r) => r.group === group && r.id === peerId),
        ])
        .filter(([amphi, peer]) => amphi && peer);
      if (pairs.length === 0) continue;
      const summary = summarise(pairs.map(([amphi, peer]) => amphi.ns / peer.ns));
      const amphiNs = median(pairs.map(([amphi]) => amphi.ns));
      const peerNs = median(pairs.map(([, peer]) => peer.ns));
      lines.push(
        `| ${group} | ${amphiId} | ${formatNs(amphiNs)} | ${peerId} | ${formatNs(peerNs)} | ` +
          `${formatRatio(summary)} | ` +
          `${verdict(summary.ratio, TARGETS[`${group}/${amphiId}/${peerId}`] ?? TARGETS[`${group}/${peerId}`])} |`,
      );
    }
  }
  return lines.join('\n');
}

function browserTable(rounds) {
  const lines = [
    '| benchmark | op | amphi | time/op | peer | time/op | amphi / peer | amphi speed-up | peer speed-up | target |',
    '|---|---|---|---:|---|---:|---:|---:|---:|---|',
  ];
  const names = [...new Set(rounds.flat().map((r) => r.name))];
  for (const name of names) {
    const results = rounds.flat().filter((r) => r.name === name);
    const [first] = results;
    const summary = summarise(results.map((r) => r.ratio));
    // The pool's CPU-bound rows carry each side's speed-up over the serial run.
    const speedup = (key) =>
      results.every((r) => typeof r[key] === 'number') ? `${median(results.map((r) => r[key])).toFixed(2)}x` : '';
    const target = BROWSER_TARGETS[name] ?? {};
    let goal = target.ratio === undefined ? '' : verdict(summary.ratio, target.ratio);
    if (target.speedup !== undefined) {
      const amphiSpeedup = median(results.map((r) => r.amphi_speedup));
      const met = amphiSpeedup >= target.speedup ? 'met' : 'missed';
      goal = `speed-up ≥ ${target.speedup.toFixed(2)}x: ${met}`;
    }
    lines.push(
      `| ${name} | ${first.op} | ${first.amphi} | ${formatNs(median(results.map((r) => r.amphi_ns_per_op)))} | ` +
        `${first.peer} | ${formatNs(median(results.map((r) => r.peer_ns_per_op)))} | ${formatRatio(summary)} | ` +
        `${speedup('amphi_speedup')} | ${speedup('peer_speedup')} | ${goal} |`,
    );
  }
  return lines.join('\n');
}

/** The browser's process pool figures (the `process-pool-` rows) next to the thread pool's and
 *  wasm-bindgen-rayon's from the same page loads: the median over the rounds, and the range. */
function processPoolBrowserTable(rounds) {
  const pick = (name, figure) =>
    rounds.flatMap((round) => {
      const result = round.find((r) => r.name === name);
      const value = result && figure(result);
      return typeof value === 'number' && Number.isFinite(value) ? [value] : [];
    });
  const show = (values, format) => {
    if (values.length === 0) return '';
    const range = values.length > 1 ? ` (${format(Math.min(...values))}–${format(Math.max(...values))})` : '';
    return `${format(median(values))}${range}`;
  };
  const millis = (value) => `${value.toFixed(1)} ms`;
  const micros = (value) => `${value.toFixed(2)} µs`;
  const rate = (value) => `${(value / 1e6).toFixed(2)} M/s`;
  const times = (value) => `${value.toFixed(2)}x`;
  const rows = [
    ['start: `new(2)` returned', millis,
      pick('process-pool-start', (r) => r.processStart?.new_ms),
      pick('pool-start', (r) => r.start?.amphi_new_ms),
      pick('pool-start', (r) => r.start?.peer_init_ms)],
    ['start: every worker has run a task', millis,
      pick('process-pool-start', (r) => r.processStart?.all_workers_ran_ms),
      pick('pool-start', (r) => r.start?.amphi_all_workers_ran_ms),
      pick('pool-start', (r) => r.start?.peer_all_workers_ran_ms)],
    ['start: a second pool, every worker has run a task', millis,
      pick('process-pool-start', (r) => r.processStart?.second_pool_all_workers_ran_ms),
      [],
      []],
    ['a bare process started and joined (`join_async`)', millis,
      pick('process-pool-start', (r) => r.processStart?.bare_process_ms),
      [],
      []],
    ['per task, `chunksize` 1, trivial work', micros,
      pick('process-pool-task', (r) => r.processTasks?.process_task_us),
      pick('process-pool-task', (r) => r.processTasks?.thread_task_us),
      []],
    ['`map` with default chunks, trivial work', rate,
      pick('process-pool-map-throughput', (r) => r.amphi_items_per_s),
      pick('process-pool-map-throughput', (r) => r.peer_items_per_s),
      []],
    ['CPU-bound speed-up over serial (`map_async`; the peer: `par_iter`)', times,
      pick('process-pool-cpu-map-async', (r) => r.amphi_speedup),
      pick('process-pool-cpu-map-async', (r) => r.peer_speedup),
      pick('process-pool-cpu-map-async', (r) => r.rayon_speedup)],
  ];
  const lines = [
    '| figure | amphi process `Pool` | amphi `ThreadPool` | wasm-bindgen-rayon |',
    '|---|---:|---:|---:|',
  ];
  for (const [figure, format, processes, threads, peer] of rows) {
    lines.push(`| ${figure} | ${show(processes, format)} | ${show(threads, format)} | ${show(peer, format)} |`);
  }
  return lines.join('\n');
}

const rounds = criterionDirs.map(criterionResults).filter((round) => round.length > 0);
const several = (n) => (n > 1 ? `; median of ${n} rounds, lowest–highest ratio in brackets` : '');
console.log(`### Native (criterion, mean time per iteration${several(rounds.length)})\n`);
console.log(rounds.length ? nativeTable(rounds) : `(no criterion results in ${criterionDirs.join(', ')})`);
const browserRounds = browserFiles.filter((file) => existsSync(file)).map(readJson);
if (browserRounds.length) {
  console.log(`\n### Browser (Chromium, Web Workers; each figure the median of its runs${several(browserRounds.length)})\n`);
  console.log(browserTable(browserRounds));
  if (browserRounds.some((round) => round.some((r) => r.name?.startsWith('process-pool-')))) {
    console.log(`\n### Browser: the process pool next to the thread pools (2 workers each${several(browserRounds.length)})\n`);
    console.log(processPoolBrowserTable(browserRounds));
  }
}

const poolLines = poolFiles
  .filter((file) => existsSync(file))
  .flatMap((file) => readFileSync(file, 'utf8').split('\n'))
  .filter((line) => line.startsWith('pool_map_chunksize_1 vs Python'));
if (poolLines.length) {
  console.log('\n### Pool against Python (`cargo bench --bench pool`, outside criterion; one line per round)\n');
  for (const line of poolLines) console.log(`- ${line}`);
}
for (const file of cpuSpeedupFiles.filter((f) => existsSync(f))) {
  console.log('\n### CPU-bound speed-up (`cargo bench -p amphi-bench-pool --bench cpu_speedup`)\n');
  console.log(readFileSync(file, 'utf8').trim());
}
for (const file of processPoolFiles.filter((f) => existsSync(f))) {
  console.log('\n### Process pool against Python (`cargo bench --bench process_pool`)\n');
  for (const line of readFileSync(file, 'utf8').split('\n').filter((l) => /^(pool_|cpu_)/.test(l))) {
    console.log(`- ${line}`);
  }
}

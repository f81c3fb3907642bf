// Prints the benchmark figures as Markdown tables: for every criterion group, amphi's mean time
// per iteration (criterion's `mean.point_estimate`), each peer's, and the ratio amphi/peer
// (below 1: amphi is faster), with the target where one is set; then the browser results
// written by scripts/bench-browser.mjs.
//   node scripts/bench-report.mjs [--criterion DIR]... [--browser FILE]...
// DIR defaults to target/criterion. Given several rounds (one DIR or FILE per round), each
// ratio is taken within its round (amphi and peer measured in the same run), and the table
// shows the median over the rounds, with the lowest and highest ratio; times are medians too.
// A group's amphi figure is the benchmark whose id starts with "amphi"; every other benchmark in
// the group is a peer. Groups added later are picked up as they are.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const options = (name) =>
  process.argv.flatMap((arg, index) => (arg === name ? [process.argv[index + 1]] : []));
const criterionDirs = options('--criterion');
if (criterionDirs.length === 0) criterionDirs.push(join(root, 'target', 'criterion'));
const browserFiles = options('--browser');

/** Targets: the largest acceptable amphi/peer ratio, per group and peer. */
const TARGETS = {
  'lock_uncontended/parking_lot': 1.2,
  'lock_contended_2_threads/std_mutex': 1.0,
  'event_ping_pong_round_trip/raw_futex': 1.5,
  // At least two thirds of crossbeam-channel's throughput: at most 1.5x its time per item.
  'queue_throughput_spsc/crossbeam_bounded': 1.5,
  'queue_throughput_4x4/crossbeam_bounded': 1.5,
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
  return `${ns.toFixed(1)} ns`;
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
    const amphiId = ids.find((id) => id.startsWith('amphi'));
    if (!amphiId) continue;
    for (const peerId of ids.filter((id) => id !== amphiId)) {
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
          `${formatRatio(summary)} | ${verdict(summary.ratio, TARGETS[`${group}/${peerId}`])} |`,
      );
    }
  }
  return lines.join('\n');
}

function browserTable(rounds) {
  const lines = [
    '| benchmark | op | amphi | ns/op | peer | ns/op | amphi / peer |',
    '|---|---|---|---:|---|---:|---:|',
  ];
  const names = [...new Set(rounds.flat().map((r) => r.name))];
  for (const name of names) {
    const results = rounds.flat().filter((r) => r.name === name);
    const [first] = results;
    const summary = summarise(results.map((r) => r.ratio));
    lines.push(
      `| ${name} | ${first.op} | ${first.amphi} | ${median(results.map((r) => r.amphi_ns_per_op)).toFixed(1)} | ` +
        `${first.peer} | ${median(results.map((r) => r.peer_ns_per_op)).toFixed(1)} | ${formatRatio(summary)} |`,
    );
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
}

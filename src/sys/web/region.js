// The process tree's shared region in the browser: one SharedArrayBuffer, reached through
// Atomics. Each JS realm (the page, every worker) holds its own reference to the same buffer:
//   - the realm that creates the region (the tree's first instance, on its first need) makes
//     the buffer here (createRegion);
//   - every worker amphi starts gets it in its start-up message and hands it to setRegion
//     before the module runs, so Rust finds it on any thread.
//
// Rust names a location by its byte offset and an access width (1, 2 or 4 bytes, or 8 for the
// BigInt functions). All operations are sequentially consistent, as Atomics always are.

// This file can be evaluated more than once in a realm (see worker.js), so the realm's buffer
// lives on the global object; each evaluation caches it below.
let buffer = globalThis.__amphiRegion?.buffer ?? null;
let views = globalThis.__amphiRegion?.views ?? null;
// This realm's process id, and where its liveness entry is (see sys/web/region.rs): 0 once the
// process was terminated or ended. A process's workers can outlive `Worker.terminate()` for a
// while (Chromium lets a busy worker run on for a grace period), so every write checks the
// entry first and throws once it is 0: a terminated process never changes shared memory again.
let pid = globalThis.__amphiRegion?.pid ?? 1;
let liveAt = globalThis.__amphiRegion?.liveAt ?? 0;
const ROOT_PID = 1;
const MAX_PIDS = 1 << 16;

/// Adopts the region's buffer in this realm, for process `processId` (the page's is 1).
export function setRegion(sab, processId) {
  if (!(sab instanceof SharedArrayBuffer)) return;
  buffer = sab;
  pid = processId ?? ROOT_PID;
  liveAt = (sab.byteLength - 4 * MAX_PIDS) / 4 + pid;
  views = {
    1: new Uint8Array(sab),
    2: new Uint16Array(sab),
    4: new Uint32Array(sab),
    8: new BigUint64Array(sab),
    i32: new Int32Array(sab),
  };
  globalThis.__amphiRegion = { buffer, views, pid, liveAt };
}

/// This realm's process id.
export function regionPid() {
  return pid;
}

/// Whether this realm's process was terminated or has ended (never the page's).
export function processEnded() {
  return pid > ROOT_PID && pid < MAX_PIDS && Atomics.load(views[4], liveAt) === 0;
}

function writable() {
  if (processEnded()) {
    throw new Error(`amphi: process ${pid} was terminated; it may not write shared memory`);
  }
}

/// The region's buffer in this realm, or null.
export function regionBuffer() {
  if (!buffer && globalThis.__amphiRegion) ({ buffer, views, pid, liveAt } = globalThis.__amphiRegion);
  return buffer;
}

/// Creates the region (zero-filled) unless this realm has one; returns its byte length.
export function createRegion(byteLength) {
  if (!regionBuffer()) setRegion(new SharedArrayBuffer(byteLength), ROOT_PID);
  return buffer.byteLength;
}

const OPS = [
  (view, i) => Atomics.load(view, i),
  (view, i, v) => Atomics.store(view, i, v),
  (view, i, v) => Atomics.exchange(view, i, v),
  (view, i, v) => Atomics.add(view, i, v),
  (view, i, v) => Atomics.sub(view, i, v),
  (view, i, v) => Atomics.and(view, i, v),
  (view, i, v) => Atomics.or(view, i, v),
  (view, i, v) => Atomics.xor(view, i, v),
];

/// Operation `op` (load, store, exchange, add, sub, and, or, xor) on the unsigned integer of
/// `width` bytes at byte `at`; returns the previous value (the stored one for a store).
export function regionRmw(op, width, at, value) {
  if (op !== 0) writable();
  return OPS[op](views[width], at / width, value);
}

/// Compare-and-exchange on the unsigned integer of `width` bytes at `at`; returns the
/// previous value.
export function regionCas(width, at, expected, value) {
  writable();
  return Atomics.compareExchange(views[width], at / width, expected, value);
}

/// As regionRmw, on the 64-bit word at `at` (values are BigInts).
export function regionRmw64(op, at, value) {
  if (op !== 0) writable();
  return OPS[op](views[8], at / 8, BigInt.asUintN(64, value));
}

/// As regionCas, on the 64-bit word at `at`.
export function regionCas64(at, expected, value) {
  writable();
  return Atomics.compareExchange(
    views[8],
    at / 8,
    BigInt.asUintN(64, expected),
    BigInt.asUintN(64, value),
  );
}

/// Atomics.wait on the 32-bit word at `at` (a worker only): true unless it timed out.
export function regionWait(at, expected, timeoutMs) {
  return Atomics.wait(views.i32, at / 4, expected | 0, timeoutMs < 0 ? Infinity : timeoutMs) !==
    'timed-out';
}

/// Atomics.notify on the 32-bit word at `at`.
export function regionNotify(at, count) {
  Atomics.notify(views.i32, at / 4, count < 0 ? Infinity : count);
}

/// Atomics.waitAsync on the 32-bit word at `at`, for at most `timeoutMs` (negative: no
/// limit): a promise of 'ok' or 'timed-out'; the string 'not-equal' or 'timed-out' when that
/// is known at once; undefined when waitAsync is missing (the caller polls).
export function regionWaitAsync(at, expected, timeoutMs) {
  if (typeof Atomics.waitAsync !== 'function') return undefined;
  const result = Atomics.waitAsync(
    views.i32,
    at / 4,
    expected | 0,
    timeoutMs < 0 ? Infinity : timeoutMs,
  );
  return result.value;
}

/// Copies `bytes` (a view of the module's memory) into the buffer at byte `at`.
export function regionWriteBytes(at, bytes) {
  writable();
  views[1].set(bytes, at);
}

/// Copies the buffer's bytes at `at` into `out` (a view of the module's memory).
export function regionReadBytes(at, out) {
  out.set(new Uint8Array(buffer, at, out.length));
}

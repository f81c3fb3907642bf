// amphi's Web Worker script, and the helpers that start workers.
//
// One script, two roles, told apart by the worker's name:
//   - `amphi:worker`: a thread, sharing its parent's module instance and memory (below);
//   - `amphi:process`: a process, with its own instance of the module and its own memory. It
//     behaves as a page does for its instance: it never blocks (the process's code runs on one
//     of its threads), so it creates that instance's thread workers and child processes.
// Every worker receives the process tree's shared region (region.js) in its start-up message.
//
// Workers are pooled. Rust queues each new thread's closure in shared memory; any idle amphi
// worker takes it, runs it and goes back to waiting, so a thread start needs no event loop once
// workers exist. When no worker is spare, Rust asks for one more:
//   - on a thread with an event loop that amphi did not start (the page, a test runner's worker)
//     the worker is created right there;
//   - inside an amphi worker, which may be blocked in Atomics.wait and so cannot run the fetches
//     a new worker needs, the request is posted to the worker's parent, which creates a sibling.
// So every amphi worker is a child of a thread that never blocks for long, and a worker started
// while its requester blocks still comes up.
//
// Finding this script, and the glue (the wasm-bindgen module of the crate that was built: amphi's
// own package, or the user's crate that depends on amphi) from inside it. This file is a
// wasm-bindgen snippet, at `<out-dir>/snippets/amphi-<hash>/src/sys/web/worker.js`, and knows
// neither the crate's name nor whether it will be bundled; nothing rewrites it after the build.
//   - The worker is this very file: `new Worker(new URL('./worker.js', import.meta.url), ...)`,
//     written literally once. Unbundled, that is this file's own address. Bundlers that
//     recognise the expression (Vite, webpack 5; Parcel documents it too) build this file, with
//     what it imports, as a worker entry.
//   - Bundled, the worker finds the glue in its own bundle: this file asks the bundler for the
//     out-dir's JavaScript files (`../../../../..` from here, since it cannot name the glue) in
//     the bundler's own words (`bundledGlue`), which become static imports at build time.
//   - Otherwise (plain files, wasm-bindgen's test runner) the realm that starts a worker sends the
//     glue's URL (`mainUrl`, the glue's own `import.meta.url`, which Rust reads) and the worker
//     imports it from there. A bundle has no such URL: the glue was built into the application's
//     code, which a worker must never import (its `import.meta.url` is then this file's, the
//     same chunk), or the bundler wrote the source file's `file:` path (webpack); then no URL is
//     sent.
//   - setWorkerUrl(url) replaces the script: a copy of this file served with the package's
//     other files, or this file bundled as a module worker.

import { processEnded, regionBuffer, regionPid, setRegion } from './region.js';

const THREAD_NAME = 'amphi:worker';
const PROCESS_NAME = 'amphi:process';
let workerUrl = null;
// This file can be evaluated twice in one realm (as a worker's script and as the glue's import
// of it), so what the realm must know once lives on the global object.
// Thread workers this realm created, which must stay referenced or some engines collect them.
const live = (globalThis.__amphiThreadWorkers ??= new Set());
// Process workers this realm created, by process id: { worker, exited }.
const processes = (globalThis.__amphiProcessWorkers ??= new Map());
// In a process worker: its instance's glue, once loaded (it hands back trace events as it stops).
let processGlue = null;

export function setWorkerUrl(url) {
  workerUrl = url ? String(url) : null;
}

const inWorker =
  typeof DedicatedWorkerGlobalScope !== 'undefined' && self instanceof DedicatedWorkerGlobalScope;
const isThreadWorker = inWorker && self.name === THREAD_NAME;
const isProcessWorker = inWorker && self.name === PROCESS_NAME;

/// The glue's URL as workers should import it, or null when the glue was bundled (see above):
/// its URL is this file's, so the glue shares a file with the code around it, which a worker
/// must never import (that would run the application); or it is a `file:` path that a bundler
/// wrote at build time, which a page served over http cannot load.
function glueUrl(mainUrl) {
  if (!mainUrl || mainUrl === import.meta.url) return null;
  const bakedIn = mainUrl.startsWith('file:') && self.location?.protocol !== 'file:';
  return bakedIn ? null : mainUrl;
}

/// Starts one more pooled worker, here or through this worker's parent. `startFailed(reason)`
/// reports a worker that could not load amphi (it fails the oldest queued thread);
/// `processExited` is this realm's end-of-process report, for processes the new worker's
/// threads ask this realm to start.
export function requestWorker(module, memory, mainUrl, startFailed, processExited) {
  if (isThreadWorker) {
    self.postMessage({ amphi: 'spawn' });
  } else {
    // Every worker receives the region at its start (Rust made it before the first worker).
    const init = {
      module,
      memory,
      mainUrl: glueUrl(mainUrl),
      region: regionBuffer(),
      pid: regionPid(),
    };
    startWorker(init, startFailed, processExited);
  }
}

/// A worker running this script, named `THREAD_NAME` or `PROCESS_NAME`.
function createWorker(name) {
  if (workerUrl) return new Worker(workerUrl, { type: 'module', name });
  // In a process worker this script is the worker's own, so its address is `self.location`
  // (however it was bundled: webpack's runtime cannot name a worker's own chunk from inside it).
  if (isProcessWorker) return new Worker(self.location.href, { type: 'module', name });
  // One `new Worker(new URL('./worker.js', import.meta.url), ...)`, written literally: that is
  // what bundlers recognise (a second one makes webpack emit a second entry for this file).
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name });
}

/// Why a worker's script did not load (the browser's `error` event says nothing more).
function scriptLoadFailure() {
  const script = workerUrl ?? (isProcessWorker ? self.location.href : "amphi's worker.js");
  return (
    `could not load the worker script ${script}: serve the files that wasm-pack built ` +
    'together (snippets/ with your package\'s .js and .wasm), bundle your app with a bundler ' +
    "that builds `new Worker(new URL('./worker.js', import.meta.url))` as a worker (Vite, " +
    'webpack 5), or pass the URL of a script that loads to setWorkerUrl()'
  );
}

/// Starts process `start.pid` (a process worker), here or through this thread's parent.
/// `exited(pid, code, report, broken, traceEvents)` hears its end, in the realm that created the
/// worker (`traceEvents`: the JSON array of trace events it recorded when `start.trace` said so).
export function requestProcess(module, mainUrl, start, exited) {
  if (isThreadWorker) {
    self.postMessage({ amphi: 'process', start });
  } else {
    startProcess({ module, mainUrl: glueUrl(mainUrl), region: regionBuffer(), ...start }, exited);
  }
}

/// Ends process `pid` with `Worker.terminate()`, reporting exit code `code`.
export function signalProcess(pid, code) {
  if (isThreadWorker) {
    self.postMessage({ amphi: 'signal', pid, code });
  } else {
    endProcess(pid, code, null, null, null);
  }
}

function startProcess(init, exited) {
  let worker;
  try {
    worker = createWorker(PROCESS_NAME);
  } catch (error) {
    exited(init.pid, 1, null, `could not create a process worker: ${error?.stack ?? error}`, null);
    return;
  }
  processes.set(init.pid, { worker, exited });
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    const reason =
      event.message || scriptLoadFailure();
    endProcess(init.pid, 1, null, reason, null);
  });
  worker.addEventListener('message', ({ data }) => {
    if (data?.amphi === 'process-exit') {
      endProcess(
        init.pid,
        data.code,
        data.report ?? null,
        data.broken ?? null,
        data.traceEvents ?? null,
      );
    }
  });
  worker.postMessage(init);
}

/// The end of process `pid`, once: every worker of it is stopped (see stopProcessWorker), then
/// Rust hears the code and the report (or why there is none), and the trace events it recorded.
function endProcess(pid, code, report, broken, traceEvents) {
  const entry = processes.get(pid);
  if (!entry) return;
  processes.delete(pid);
  // A process that did not exit (terminated, killed) hands its trace events back as it stops,
  // and so do the daemonic children a process that exited leaves behind.
  stopProcessWorker(entry.worker).then((leftEvents) =>
    entry.exited(pid, code, report, broken, joinTraceEvents(traceEvents, leftEvents)),
  );
}

// How long a process worker may take to stop its own workers before it is terminated anyway.
const STOP_PATIENCE_MS = 2000;

/// Stops a process worker and everything it started. `Worker.terminate()` alone is not enough:
/// Chromium lets the workers a terminated worker started run on. So the process worker, whose
/// event loop is always free (its process's code runs on its threads), is first asked to stop
/// its own threads and child processes (recursively), then terminated. Resolves with the trace
/// events the process recorded and had not yet handed back (a JSON array), or null.
function stopProcessWorker(worker) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), STOP_PATIENCE_MS);
    worker.addEventListener('message', ({ data }) => {
      if (data?.amphi === 'stopped') {
        clearTimeout(timer);
        resolve(data.traceEvents ?? null);
      }
    });
    worker.postMessage({ amphi: 'stop' });
  }).then((traceEvents) => {
    worker.terminate();
    return traceEvents;
  });
}

/// In a process worker about to be terminated: stops every worker this realm started, and
/// resolves with the trace events this process recorded and had not yet handed back (its
/// stopped children's among them), or null.
async function stopEverything() {
  const children = [...processes.values()];
  processes.clear();
  const childEvents = await Promise.all(children.map((entry) => stopProcessWorker(entry.worker)));
  // Before this realm's thread workers are stopped, so that none is stopped inside the recorder.
  const traceEvents = handBackTraceEvents(childEvents);
  for (const worker of live) worker.terminate();
  live.clear();
  return traceEvents;
}

/// In a process worker that is being stopped: ends its recording and returns its events with
/// those its stopped children handed back (a JSON array), or null when there are none (a
/// process that exited handed its own back with its report, but its daemonic children, stopped
/// only now, hand theirs back here).
function handBackTraceEvents(childEvents) {
  let own = null;
  try {
    own = processGlue?.__amphi_take_trace_events() ?? null;
  } catch (error) {
    // The stop goes on; only this process's events are lost. The glue refuses calls into an
    // instance one of whose threads was stopped by its next write to shared memory (see
    // `processEnded`): that is how a stop can end a thread, so it is not worth a message.
    if (error?.message !== 'Module terminated') {
      console.error('amphi: a stopped process could not hand back its trace events:', error);
    }
  }
  return joinTraceEvents(own, ...childEvents);
}

/// JSON arrays of trace events (null for none) joined into one, or null when all are null.
function joinTraceEvents(...arrays) {
  const present = arrays.filter((events) => events != null);
  if (present.length < 2) return present[0] ?? null;
  return JSON.stringify(present.flatMap((events) => JSON.parse(events)));
}

function startWorker(init, startFailed, processExited) {
  const fail = (reason) => {
    console.error('amphi: a worker failed to start:', reason);
    startFailed(String(reason));
  };
  let worker;
  try {
    worker = createWorker(THREAD_NAME);
  } catch (error) {
    fail(error?.stack ?? error);
    return;
  }
  live.add(worker);
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(event.message || scriptLoadFailure());
  });
  worker.addEventListener('message', ({ data }) => {
    if (data?.amphi === 'spawn') startWorker(init, startFailed, processExited);
    else if (data?.amphi === 'start-failed') fail(data.reason);
    else if (data?.amphi === 'exit') live.delete(worker);
    else if (data?.amphi === 'process') {
      const { module, mainUrl, region } = init;
      startProcess({ module, mainUrl, region, ...data.start }, processExited);
    } else if (data?.amphi === 'signal') endProcess(data.pid, data.code, null, null, null);
    else if (data?.amphi === 'trapped') threadTrapped(data.reason);
  });
  worker.postMessage(init);
}

/// The glue as a bundler built it into this script, or null (unbundled). This file cannot name
/// the glue (it is `<crate>.js` in the out-dir, `../../../../..` from here), so it asks each
/// bundler for "the JavaScript files of the out-dir" in that bundler's own words, which it turns
/// into static imports at build time: Vite's `import.meta.glob` (which recent webpack 5 releases
/// understand too) and webpack's `import.meta.webpackContext`. Where a bundler does not know a
/// call, and unbundled, the call throws at once.
function bundledGlue() {
  const modules = [];
  try {
    modules.push(...Object.values(import.meta.glob('../../../../../*.js', { eager: true })));
  } catch {
    // Not built by Vite.
  }
  try {
    const context = import.meta.webpackContext('../../../../..', {
      recursive: false,
      regExp: /\.js$/,
      mode: 'sync',
    });
    modules.push(...context.keys().map((key) => context(key)));
  } catch {
    // Not built by webpack.
  }
  return modules.find((module) => typeof module?.__amphi_worker_main === 'function') ?? null;
}

/// The glue, in this worker: built into this script by a bundler, else imported from the URL the
/// page loaded it from (see the top of this file).
async function importGlue(mainUrl) {
  const bundled = bundledGlue();
  if (bundled) return bundled;
  if (mainUrl) return import(/* @vite-ignore */ /* webpackIgnore: true */ mainUrl);
  throw new Error(
    "amphi's worker script has no way to import your package's JavaScript glue: it was not " +
      'bundled with it, and the page loaded the glue from a bundle (or a build-time file: URL) ' +
      "that a worker cannot import. Bundle your app with Vite or webpack 5, which build amphi's " +
      "`new Worker(new URL('./worker.js', import.meta.url))` with the glue; or serve the files " +
      "that wasm-pack built as they are and import your package's .js file from them; or build " +
      "this script with your package's glue yourself and pass its URL to setWorkerUrl()",
  );
}

async function runWorker(init) {
  let glue;
  let exports;
  setRegion(init.region, init.pid);
  try {
    glue = await importGlue(init.mainUrl);
    exports = await glue.default({ module_or_path: init.module, memory: init.memory });
  } catch (error) {
    self.postMessage({ amphi: 'start-failed', reason: String(error?.stack ?? error) });
    self.postMessage({ amphi: 'exit' });
    self.close();
    return;
  }
  let exitSlot = 0;
  try {
    // Asked before any job runs: after a trap the glue answers no call into this instance.
    exitSlot = glue.__amphi_worker_exit_slot();
    glue.__amphi_worker_main();
    exports.__wbindgen_thread_destroy?.();
  } catch (error) {
    // This worker's stack is abandoned, so it leaves the pool. A thread of a process that was
    // terminated ends here (its next write to shared memory throws): nobody waits for it.
    if (!processEnded()) reportLost(glue, init.memory, exitSlot, error);
  }
  self.postMessage({ amphi: 'exit' });
  self.close();
}

// The exit word's values (crate::sys::THREAD_RUNNING and THREAD_LOST in sys/mod.rs).
const THREAD_RUNNING = 0;
const THREAD_LOST = 2;

/// A trap (out of memory, an `unreachable`; panics unwind) ended the thread running here: tells
/// Rust it is lost, so that its joiner wakes with an error. The glue refuses every call into an
/// instance once a call into it trapped ("Module terminated"), from any worker; then this marks
/// the job lost in memory itself (its exit word's address is at `exitSlot`) and wakes its
/// joiner, and tells the realm that started this worker, which ends the process if it is a
/// process's worker (an instance that serves no calls cannot go on).
function reportLost(glue, memory, exitSlot, error) {
  const reason = String(error?.stack ?? error);
  try {
    glue.__amphi_worker_lost(reason);
    return;
  } catch {
    // Refused: the instance trapped.
  }
  const words = new Int32Array(memory.buffer);
  const exitWord = Atomics.load(words, exitSlot >>> 2) >>> 2;
  if (exitWord !== 0) {
    Atomics.compareExchange(words, exitWord, THREAD_RUNNING, THREAD_LOST);
    Atomics.notify(words, exitWord);
  }
  console.error(`amphi: a thread trapped (${reason}); its instance serves no further calls`);
  self.postMessage({ amphi: 'trapped', reason });
}

/// In the realm that started a worker whose thread trapped: a process worker ends its process
/// with exit code 1 and the reason (its instance serves no further calls, so the process could
/// never report its end); elsewhere (the page, a test runner's worker) the joiner was woken.
function threadTrapped(reason) {
  if (isProcessWorker) {
    self.postMessage({ amphi: 'process-exit', code: 1, broken: `a thread trapped: ${reason}` });
  }
}

/// A process worker: a fresh instance of the module (no memory given: the glue makes a new
/// one), then the process's main, which resolves with its exit code and report.
async function runProcess(init) {
  setRegion(init.region, init.pid);
  let glue;
  try {
    glue = await importGlue(init.mainUrl);
    await glue.default({ module_or_path: init.module });
  } catch (error) {
    self.postMessage({ amphi: 'process-exit', code: 1, broken: String(error?.stack ?? error) });
    return;
  }
  processGlue = glue;
  try {
    const { code, report, traceEvents } = await glue.__amphi_process_main(
      init.pid,
      init.entry,
      init.lost,
      init.target,
      init.payload,
      init.trace === true,
    );
    // No report: the process exited from a thread other than its target's.
    self.postMessage(
      { amphi: 'process-exit', code, report, traceEvents },
      report ? [report.buffer] : [],
    );
  } catch (error) {
    self.postMessage({ amphi: 'process-exit', code: 1, broken: String(error?.stack ?? error) });
  }
}

if ((isThreadWorker || isProcessWorker) && !self.__amphiWorkerStarted) {
  self.__amphiWorkerStarted = true;
  const run = isThreadWorker ? runWorker : runProcess;
  self.addEventListener('message', ({ data }) => run(data), { once: true });
  if (isProcessWorker) {
    self.addEventListener('message', ({ data }) => {
      if (data?.amphi === 'stop') {
        stopEverything().then((traceEvents) => self.postMessage({ amphi: 'stopped', traceEvents }));
      }
    });
  }
}

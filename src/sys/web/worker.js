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
// Finding this script, and the glue (the wasm-bindgen module that exports amphi's functions)
// from inside it:
//   - The worker is this very file: `new Worker(new URL('./worker.js', import.meta.url), ...)`,
//     written literally in one expression. Unbundled, that is this file's own address. Bundlers
//     that recognise the expression (Vite; webpack 5 and Parcel document it too) build this
//     file, with what it imports, as a worker entry.
//   - The npm package's build (scripts/build-pkg.mjs) replaces the `packageGlue` line below with
//     a static import of the package's entry, which it names. A bundler follows it and puts the
//     glue in the worker's bundle; unbundled, it is the file the page loaded (the two import each
//     other, which ES modules allow).
//   - Without that line (wasm-bindgen's own output, as in the test runner) the worker imports
//     the glue from the URL the page loaded it from (`mainUrl`).
//   - setWorkerUrl(url) replaces the script: a copy of this file served with the package's
//     other files, or this file bundled as a module worker.

// The package's entry, or null: scripts/build-pkg.mjs rewrites this line.
const packageGlue = null;

import { regionBuffer, regionPid, setRegion } from './region.js';

const THREAD_NAME = 'amphi:worker';
const PROCESS_NAME = 'amphi:process';
let workerUrl = null;
// This file can be evaluated twice in one realm (as a worker's script and as the glue's import
// of it), so what the realm must know once lives on the global object.
// Thread workers this realm created, which must stay referenced or some engines collect them.
const live = (globalThis.__amphiThreadWorkers ??= new Set());
// Process workers this realm created, by process id: { worker, exited }.
const processes = (globalThis.__amphiProcessWorkers ??= new Map());

export function setWorkerUrl(url) {
  workerUrl = url ? String(url) : null;
}

const inWorker =
  typeof DedicatedWorkerGlobalScope !== 'undefined' && self instanceof DedicatedWorkerGlobalScope;
const isThreadWorker = inWorker && self.name === THREAD_NAME;
const isProcessWorker = inWorker && self.name === PROCESS_NAME;

/// The glue's URL as workers should import it: null when the glue is bundled into one file
/// with the code around it, which a worker must never import (that would run the application).
function glueUrl(mainUrl) {
  return mainUrl === import.meta.url ? null : mainUrl;
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

function createWorker() {
  // Each `new Worker` stays one literal expression: that is what bundlers recognise.
  return workerUrl
    ? new Worker(workerUrl, { type: 'module', name: THREAD_NAME })
    : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: THREAD_NAME });
}

function createProcessWorker() {
  return workerUrl
    ? new Worker(workerUrl, { type: 'module', name: PROCESS_NAME })
    : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: PROCESS_NAME });
}

/// Starts process `start.pid` (a process worker), here or through this thread's parent.
/// `exited(pid, code, report, broken)` hears its end, in the realm that created the worker.
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
    endProcess(pid, code, null, null);
  }
}

function startProcess(init, exited) {
  let worker;
  try {
    worker = createProcessWorker();
  } catch (error) {
    exited(init.pid, 1, null, `could not create a process worker: ${error?.stack ?? error}`);
    return;
  }
  processes.set(init.pid, { worker, exited });
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    const reason =
      event.message || `could not load the worker script ${workerUrl ?? 'worker.js'}`;
    endProcess(init.pid, 1, null, reason);
  });
  worker.addEventListener('message', ({ data }) => {
    if (data?.amphi === 'process-exit') {
      endProcess(init.pid, data.code, data.report ?? null, data.broken ?? null);
    }
  });
  worker.postMessage(init);
}

/// The end of process `pid`, once: every worker of it is stopped (see stopProcessWorker), then
/// Rust hears the code and the report (or why there is none).
function endProcess(pid, code, report, broken) {
  const entry = processes.get(pid);
  if (!entry) return;
  processes.delete(pid);
  stopProcessWorker(entry.worker).then(() => entry.exited(pid, code, report, broken));
}

// How long a process worker may take to stop its own workers before it is terminated anyway.
const STOP_PATIENCE_MS = 2000;

/// Stops a process worker and everything it started. `Worker.terminate()` alone is not enough:
/// Chromium lets the workers a terminated worker started run on. So the process worker, whose
/// event loop is always free (its process's code runs on its threads), is first asked to stop
/// its own threads and child processes (recursively), then terminated.
function stopProcessWorker(worker) {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, STOP_PATIENCE_MS);
    worker.addEventListener('message', ({ data }) => {
      if (data?.amphi === 'stopped') {
        clearTimeout(timer);
        resolve();
      }
    });
    worker.postMessage({ amphi: 'stop' });
  }).then(() => worker.terminate());
}

/// In a process worker about to be terminated: stops every worker this realm started.
async function stopEverything() {
  const children = [...processes.values()];
  processes.clear();
  await Promise.all(children.map((entry) => stopProcessWorker(entry.worker)));
  for (const worker of live) worker.terminate();
  live.clear();
}

function startWorker(init, startFailed, processExited) {
  const fail = (reason) => {
    console.error('amphi: a worker failed to start:', reason);
    startFailed(String(reason));
  };
  let worker;
  try {
    worker = createWorker();
  } catch (error) {
    fail(error?.stack ?? error);
    return;
  }
  live.add(worker);
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    fail(event.message || `could not load the worker script ${workerUrl ?? 'worker.js'}`);
  });
  worker.addEventListener('message', ({ data }) => {
    if (data?.amphi === 'spawn') startWorker(init, startFailed, processExited);
    else if (data?.amphi === 'start-failed') fail(data.reason);
    else if (data?.amphi === 'exit') live.delete(worker);
    else if (data?.amphi === 'process') {
      const { module, mainUrl, region } = init;
      startProcess({ module, mainUrl, region, ...data.start }, processExited);
    } else if (data?.amphi === 'signal') endProcess(data.pid, data.code, null, null);
  });
  worker.postMessage(init);
}

/// The glue, in this worker.
async function importGlue(mainUrl) {
  if (packageGlue) return packageGlue;
  if (mainUrl) return import(/* @vite-ignore */ /* webpackIgnore: true */ mainUrl);
  throw new Error(
    "amphi's worker script was bundled without the package's entry: build the package " +
      'with scripts/build-pkg.mjs, or serve this file with the package and pass its URL to ' +
      'setWorkerUrl()',
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
  try {
    glue.__amphi_worker_main();
    exports.__wbindgen_thread_destroy?.();
  } catch (error) {
    // A trap (out of memory, an `unreachable`; panics unwind): the thread running here is lost.
    // This worker's stack is abandoned, so it leaves the pool.
    glue.__amphi_worker_lost(String(error?.stack ?? error));
  }
  self.postMessage({ amphi: 'exit' });
  self.close();
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
  try {
    const { code, report } = await glue.__amphi_process_main(
      init.pid,
      init.entry,
      init.lost,
      init.target,
      init.payload,
    );
    // No report: the process exited from a thread other than its target's.
    self.postMessage({ amphi: 'process-exit', code, report }, report ? [report.buffer] : []);
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
      if (data?.amphi === 'stop') stopEverything().then(() => self.postMessage({ amphi: 'stopped' }));
    });
  }
}

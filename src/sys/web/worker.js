// amphi's Web Worker script, and the helpers that start workers.
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

const PREFIX = 'amphi:';
let workerUrl = null;
// Workers that share memory must stay referenced or some engines collect them.
const live = new Set();

export function setWorkerUrl(url) {
  workerUrl = url ? String(url) : null;
}

const isAmphiWorker =
  typeof DedicatedWorkerGlobalScope !== 'undefined' &&
  self instanceof DedicatedWorkerGlobalScope &&
  typeof self.name === 'string' &&
  self.name.startsWith(PREFIX);

/// Starts one more pooled worker, here or through this worker's parent. `startFailed(reason)`
/// reports a worker that could not load amphi (it fails the oldest queued thread).
export function requestWorker(module, memory, mainUrl, startFailed) {
  if (isAmphiWorker) {
    self.postMessage({ amphi: 'spawn' });
  } else {
    // A glue bundled into one file with the code around it must never be imported by a
    // worker: that would run the application there.
    const glueUrl = mainUrl === import.meta.url ? null : mainUrl;
    startWorker({ module, memory, mainUrl: glueUrl }, startFailed);
  }
}

function createWorker() {
  // Each `new Worker` stays one literal expression: that is what bundlers recognise.
  return workerUrl
    ? new Worker(workerUrl, { type: 'module', name: 'amphi:worker' })
    : new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'amphi:worker' });
}

function startWorker(init, startFailed) {
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
    if (data?.amphi === 'spawn') startWorker(init, startFailed);
    else if (data?.amphi === 'start-failed') fail(data.reason);
    else if (data?.amphi === 'exit') live.delete(worker);
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
    // A trap (a panic under panic=abort, out of memory): the thread running here is lost.
    // This worker's stack is abandoned, so it leaves the pool.
    glue.__amphi_worker_lost(String(error?.stack ?? error));
  }
  self.postMessage({ amphi: 'exit' });
  self.close();
}

if (isAmphiWorker && !self.__amphiWorkerStarted) {
  self.__amphiWorkerStarted = true;
  self.addEventListener('message', ({ data }) => runWorker(data), { once: true });
}

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
// Finding this script: `new URL('./worker.js', import.meta.url)`, which works from plain
// <script type="module"> pages and which bundlers (Vite, webpack 5, Parcel) recognise and emit;
// or the URL given to setWorkerUrl() (exported by the npm package).

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

/// Starts one more pooled worker, here or through this worker's parent.
export function requestWorker(module, memory, mainUrl) {
  if (isAmphiWorker) {
    self.postMessage({ amphi: 'spawn' });
  } else {
    startWorker(module, memory, mainUrl);
  }
}

function reportStartFailure(mainUrl, reason) {
  console.error('amphi: a worker failed to start:', reason);
  import(mainUrl).then((glue) => glue.__amphi_worker_start_failed(String(reason)));
}

function startWorker(module, memory, mainUrl) {
  const url = workerUrl ?? new URL('./worker.js', import.meta.url);
  const worker = new Worker(url, { type: 'module', name: `${PREFIX}worker` });
  live.add(worker);
  worker.addEventListener('error', (event) => {
    event.preventDefault();
    reportStartFailure(mainUrl, event.message || `could not load the worker script ${url}`);
  });
  worker.addEventListener('message', ({ data }) => {
    if (data?.amphi === 'spawn') startWorker(module, memory, mainUrl);
    else if (data?.amphi === 'start-failed') reportStartFailure(mainUrl, data.reason);
    else if (data?.amphi === 'exit') live.delete(worker);
  });
  worker.postMessage({ module, memory, mainUrl });
}

async function runWorker({ module, memory, mainUrl }) {
  let glue;
  let exports;
  try {
    glue = await import(mainUrl);
    exports = await glue.default({ module_or_path: module, memory });
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

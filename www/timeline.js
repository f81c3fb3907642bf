// The timeline of one run, drawn as an SVG from its Chrome trace events (the `trace` of
// `runExample(name, { trace: true })`, the format of `amphi run NAME --trace`).
//
// One lane per (pid, tid) that has a complete slice (`ph: "X"`), ordered by process then by
// first activity, labelled with its pid, the names of the threads that ran there (`thread`
// slices' names, else `thread_name` metadata) and, in a child, the process's (`process_name`). Each slice is a bar from its start to its end; a slice inside another on
// the same thread (a task inside a worker's life, a wait inside a task) is drawn thinner on top
// of it, one step per level of nesting. Every bar has a tooltip (an SVG <title>) with the
// slice's name, its fields and its duration. The SVG carries `data-lanes` (the number of
// lanes), each lane `data-pid` and `data-tid`.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 960;
const LABEL_WIDTH = 220;
const LANE_HEIGHT = 26;
const AXIS_HEIGHT = 22;
const DEPTH_STEP = 5;

/** The bar colour of a slice, by what it is. */
function colour(name) {
  if (name === 'pool.task') return '#2e9d5b';
  if (name === 'pool.submit') return '#e0a100';
  if (name.startsWith('wait.')) return '#d2453d';
  if (name === 'process.start' || name === 'process.join') return '#3a6fd8';
  if (name === 'run') return '#8a5cc2';
  return '#a7adb8'; // thread and process lifetimes
}

/** What each kind of bar means, for the legend under the lanes. */
export const LEGEND = [
  ['thread or process alive', colour('thread')],
  ['pool task', colour('pool.task')],
  ['task submitted', colour('pool.submit')],
  ['wait (lock, semaphore, event, condition, barrier, queue, pipe)', colour('wait.lock')],
  ['process start or join', colour('process.start')],
  ['the example', colour('run')],
];

function element(name, attributes = {}, text) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `"pid tid"`: a lane's key. */
function laneKey(pid, tid) {
  return `${pid} ${tid}`;
}

/** The distinct (pid, tid) of the events' complete slices, as `[pid, tid]` pairs. */
export function laneThreads(events) {
  const seen = new Map();
  for (const event of events) {
    if (event.ph === 'X') seen.set(laneKey(event.pid, event.tid), [event.pid, event.tid]);
  }
  return [...seen.values()];
}

/** `text`, cut to `length` characters with an ellipsis (the tooltip has it whole). */
function shorten(text, length) {
  return text.length <= length ? text : `${text.slice(0, length - 1)}…`;
}

function formatDuration(us) {
  if (us >= 1000) return `${(us / 1000).toFixed(us >= 100_000 ? 0 : 2)} ms`;
  return `${us.toFixed(us >= 10 ? 0 : 1)} µs`;
}

function describe(slice) {
  const fields = Object.entries(slice.args ?? {})
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(', ');
  return `${slice.name}${fields ? ` (${fields})` : ''}: ${formatDuration(slice.dur)}`;
}

/**
 * The lanes of `events`: `{ pid, tid, label, slices: [{ slice, depth }] }` ordered by process
 * (the first one seen first) and then by first activity, each slice with its nesting depth.
 */
export function lanes(events) {
  const processNames = new Map();
  const threadNames = new Map();
  for (const event of events) {
    if (event.ph !== 'M') continue;
    if (event.name === 'process_name') processNames.set(event.pid, event.args?.name);
    if (event.name === 'thread_name') threadNames.set(laneKey(event.pid, event.tid), event.args?.name);
  }
  const byLane = new Map();
  for (const event of events) {
    if (event.ph !== 'X') continue;
    const key = laneKey(event.pid, event.tid);
    if (!byLane.has(key)) byLane.set(key, { pid: event.pid, tid: event.tid, slices: [] });
    byLane.get(key).slices.push(event);
  }
  const processStart = new Map();
  const result = [];
  for (const lane of byLane.values()) {
    // Longest first on equal starts, so an enclosing slice comes before what it contains.
    lane.slices.sort((a, b) => a.ts - b.ts || b.dur - a.dur);
    const open = [];
    const slices = lane.slices.map((slice) => {
      while (open.length && open[open.length - 1] <= slice.ts) open.pop();
      const depth = open.length;
      open.push(slice.ts + slice.dur);
      return { slice, depth };
    });
    const start = lane.slices[0].ts;
    const processFirst = Math.min(processStart.get(lane.pid) ?? Infinity, start);
    processStart.set(lane.pid, processFirst);
    // In the browser a thread id is a Web Worker's, which runs one amphi thread after another:
    // the lane names each (the `thread` slices' names), else the thread's name when it first
    // recorded.
    const ran = new Set(
      lane.slices.filter((slice) => slice.name === 'thread' && slice.args?.name).map((slice) => slice.args.name),
    );
    const thread = ran.size
      ? [...ran].join(', ')
      : (threadNames.get(laneKey(lane.pid, lane.tid)) ?? `thread ${lane.tid}`);
    const process = processNames.get(lane.pid) ?? `process ${lane.pid}`;
    // A child's lanes carry its name (its main thread is a MainThread too).
    const label = process === 'MainProcess' ? thread : `${process} · ${thread}`;
    result.push({ pid: lane.pid, tid: lane.tid, label, thread, process, start, slices });
  }
  result.sort(
    (a, b) => processStart.get(a.pid) - processStart.get(b.pid) || a.pid - b.pid || a.start - b.start,
  );
  return result;
}

/**
 * Draws the timeline of `events` into `svg` (an <svg> element, emptied first) or into a new
 * one, and returns it.
 */
export function drawTimeline(events, svg = element('svg')) {
  svg.replaceChildren();
  const rows = lanes(events);
  svg.dataset.lanes = String(rows.length);
  if (rows.length === 0) {
    svg.setAttribute('viewBox', `0 0 ${WIDTH} ${AXIS_HEIGHT}`);
    svg.append(element('text', { x: 4, y: AXIS_HEIGHT - 8 }, 'nothing ran'));
    return svg;
  }
  const slices = rows.flatMap((row) => row.slices.map(({ slice }) => slice));
  const first = Math.min(...slices.map((slice) => slice.ts));
  const last = Math.max(...slices.map((slice) => slice.ts + slice.dur));
  const span = Math.max(last - first, 1);
  const plot = WIDTH - LABEL_WIDTH - 10;
  const x = (ts) => LABEL_WIDTH + ((ts - first) / span) * plot;
  const height = AXIS_HEIGHT + rows.length * LANE_HEIGHT + 4;
  svg.setAttribute('viewBox', `0 0 ${WIDTH} ${height}`);
  svg.setAttribute('width', '100%');
  svg.setAttribute('role', 'img');
  svg.setAttribute('class', 'timeline');
  svg.append(element('title', {}, `Timeline: ${rows.length} threads, ${formatDuration(span)}`));

  const axis = element('g', { class: 'axis' });
  for (let tick = 0; tick <= 4; tick += 1) {
    const ts = first + (span * tick) / 4;
    const at = x(ts);
    axis.append(
      element('line', { x1: at, x2: at, y1: AXIS_HEIGHT - 4, y2: height, stroke: '#e2e4e8' }),
      element(
        'text',
        { x: at, y: AXIS_HEIGHT - 8, 'text-anchor': tick === 0 ? 'start' : tick === 4 ? 'end' : 'middle' },
        formatDuration(ts - first),
      ),
    );
  }
  svg.append(axis);

  rows.forEach((row, index) => {
    const top = AXIS_HEIGHT + index * LANE_HEIGHT;
    const lane = element('g', { class: 'lane', 'data-pid': row.pid, 'data-tid': row.tid });
    if (index % 2 === 1) {
      lane.append(element('rect', { x: 0, y: top, width: WIDTH, height: LANE_HEIGHT, fill: '#f7f8fa' }));
    }
    const label = element('text', { x: 4, y: top + LANE_HEIGHT / 2 + 4, class: 'label' });
    label.append(element('tspan', { class: 'pid' }, `${row.pid} `), element('tspan', {}, shorten(row.label, 34)));
    label.append(
      element('title', {}, `${row.process} · ${row.thread} (pid ${row.pid}, thread ${row.tid})`),
    );
    lane.append(label);
    for (const { slice, depth } of row.slices) {
      const inset = Math.min(depth * DEPTH_STEP, LANE_HEIGHT / 2 - 3);
      const bar = element('rect', {
        x: x(slice.ts),
        y: top + 3 + inset,
        width: Math.max((slice.dur / span) * plot, 1),
        height: LANE_HEIGHT - 6 - 2 * inset,
        rx: 2,
        fill: colour(slice.name),
        class: 'slice',
        'data-name': slice.name,
      });
      bar.append(element('title', {}, describe(slice)));
      lane.append(bar);
    }
    svg.append(lane);
  });
  return svg;
}

/** The legend of the bars' colours, as a list of <li>s. */
export function legendItems() {
  return LEGEND.map(([meaning, fill]) => {
    const item = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.className = 'swatch';
    swatch.style.background = fill;
    item.append(swatch, meaning);
    return item;
  });
}

/** Saves `events` as `amphi-NAME-trace.json` (a trace-event array, which Perfetto opens). */
export function downloadTrace(name, events) {
  const blob = new Blob([JSON.stringify(events)], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `amphi-${name}-trace.json`;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The page's timeline section (#timeline in index.html): hidden while a run goes on (`trace`
 * null); then drawn from the run's trace events, with the Download button saving them, or
 * showing why there is no trace (`traceError`). The trace is also kept on
 * `window.__amphiTrace` (for the tests).
 */
export function showRunTimeline(name, trace, traceError) {
  const section = document.getElementById('timeline');
  const svg = document.getElementById('timeline-svg');
  const download = document.getElementById('download-trace');
  window.__amphiTrace = trace ?? null;
  section.hidden = !trace && !traceError;
  download.hidden = !trace;
  if (!trace) {
    svg.replaceChildren();
    delete svg.dataset.lanes;
    if (traceError) svg.append(element('text', { x: 4, y: 16 }, `no timeline: ${traceError}`));
    return;
  }
  drawTimeline(trace, svg);
  document.getElementById('timeline-legend').replaceChildren(...legendItems());
  download.onclick = () => downloadTrace(name, trace);
}

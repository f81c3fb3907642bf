//! The compact text timeline of `amphi run --timeline`: one row per thread of each process,
//! time left to right, each column showing the innermost slice running then. A child's main
//! thread is labelled with the child's name (`PoolWorker-1`, `Process-2`).

use serde_json::Value;

/// The width of the time axis, in characters.
const WIDTH: usize = 64;

/// One complete slice of the trace.
struct Slice {
    name: String,
    start: f64,
    end: f64,
}

/// The character drawn for a slice named `name`.
fn mark(name: &str) -> char {
    match name {
        "pool.task" => '#',
        "pool.submit" => '>',
        "wait.lock" => 'L',
        "wait.condition" => 'C',
        "wait.semaphore" => 'S',
        "wait.event" => 'E',
        "wait.barrier" => 'B',
        "wait.get" | "wait.put" | "wait.ring" => 'q',
        "process.start" => 's',
        "process.join" => 'j',
        _ => '-',
    }
}

/// The legend printed under the timeline.
pub(crate) const LEGEND: &str = "- thread or process alive   # pool task   > task submitted   \
     L lock wait   S semaphore wait   E event wait   C condition wait   B barrier wait   \
     q queue or pipe wait   s process start   j process join";

/// Renders `events` (Chrome trace events) as text lines, or nothing when no slice was recorded.
pub(crate) fn render(events: &[Value]) -> Vec<String> {
    // (pid, tid) -> slices, in first-seen order of the rows.
    let mut rows: Vec<((u64, u64), Vec<Slice>)> = Vec::new();
    let mut names: Vec<((u64, u64), String)> = Vec::new();
    let mut processes: Vec<(u64, String)> = Vec::new();
    for event in events {
        let pid = event["pid"].as_u64().unwrap_or(0);
        let tid = event["tid"].as_u64().unwrap_or(0);
        match event["ph"].as_str() {
            Some("X") => {
                let start = event["ts"].as_f64().unwrap_or(0.0);
                let slice = Slice {
                    name: event["name"].as_str().unwrap_or("").to_owned(),
                    start,
                    end: start + event["dur"].as_f64().unwrap_or(0.0),
                };
                match rows.iter_mut().find(|(key, _)| *key == (pid, tid)) {
                    Some((_, slices)) => slices.push(slice),
                    None => rows.push(((pid, tid), vec![slice])),
                }
            }
            Some("M") => {
                let name = event["args"]["name"].as_str().unwrap_or("").to_owned();
                if event["name"] == "thread_name" {
                    names.push(((pid, tid), name));
                } else if event["name"] == "process_name" {
                    processes.push((pid, name));
                }
            }
            _ => {}
        }
    }
    let slices = rows.iter().flat_map(|(_, slices)| slices);
    let first = slices
        .clone()
        .map(|s| s.start)
        .fold(f64::INFINITY, f64::min);
    let last = slices.map(|s| s.end).fold(f64::NEG_INFINITY, f64::max);
    if rows.is_empty() || last < first {
        return Vec::new();
    }
    let span = (last - first).max(1.0);
    let label = |key: (u64, u64)| {
        // The last name a thread id was given: the one that lists every thread it carried.
        let thread = names
            .iter()
            .rfind(|(k, _)| *k == key)
            .map_or("?", |(_, name)| name.as_str());
        let process = processes
            .iter()
            .find(|(pid, _)| *pid == key.0)
            .map(|(_, name)| name.as_str());
        let name = match process {
            Some(process) if thread == "MainThread" && process != "MainProcess" => process,
            _ => thread,
        };
        format!("{} {}", key.0, name)
    };
    let label_width = rows
        .iter()
        .map(|(key, _)| label(*key).len())
        .max()
        .unwrap_or(0);
    let mut lines = vec![format!(
        "{:label_width$} |0 ms{:>width$}|",
        "pid thread",
        format!("{:.1} ms", span / 1000.0),
        width = WIDTH - 4
    )];
    rows.sort_by_key(|(key, _)| *key);
    for (key, slices) in &rows {
        let mut bar = String::with_capacity(WIDTH);
        for column in 0..WIDTH {
            let from = first + span * column as f64 / WIDTH as f64;
            let to = first + span * (column + 1) as f64 / WIDTH as f64;
            // The innermost slice in this column: the latest to start among those overlapping.
            let innermost = slices
                .iter()
                .filter(|s| s.start < to && s.end >= from)
                .max_by(|a, b| a.start.total_cmp(&b.start));
            bar.push(innermost.map_or(' ', |s| mark(&s.name)));
        }
        lines.push(format!("{:label_width$} |{bar}|", label(*key)));
    }
    lines
}

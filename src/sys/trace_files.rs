//! The trace recorder's platform part (feature `trace`, see `crate::trace`): natively, a trace
//! file named through the environment and children's part files beside it; in the browser there
//! are no files (a child hands its events back with its exit report, see `web/process.rs`).

/// The environment variable naming the trace file; children append their events beside it.
pub const TRACE_FILE_ENV: &str = "AMPHI_TRACE_FILE";

#[cfg(not(target_arch = "wasm32"))]
pub(crate) use files::*;

#[cfg(target_arch = "wasm32")]
pub(crate) use no_files::*;

#[cfg(not(target_arch = "wasm32"))]
mod files {
    use std::fs;
    use std::io::Write;
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    use super::TRACE_FILE_ENV;

    /// A child's part file, `FILE.part-PID`, opened for appending: each event is one `write` of
    /// one line, which `O_APPEND` places whole at the end even if the child is killed next.
    #[derive(Debug)]
    pub(crate) struct PartFile(fs::File);

    impl PartFile {
        /// Appends `line` and a newline. A trace is best effort: a child that cannot write it
        /// still runs its target.
        pub(crate) fn append(&self, line: &str) {
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            let _ = (&self.0).write_all(&bytes);
        }
    }

    /// The file beside which a recording's children write: `path`, or one of the recording's
    /// own in the temporary directory (only its part files are ever written).
    pub(crate) fn for_recording(path: Option<&Path>) -> Result<Option<PathBuf>, String> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static RECORDINGS: AtomicU64 = AtomicU64::new(1);
        Ok(Some(match path {
            Some(path) => path.to_path_buf(),
            None => std::env::temp_dir().join(format!(
                "amphi-trace-{}-{}.json",
                std::process::id(),
                RECORDINGS.fetch_add(1, Ordering::Relaxed)
            )),
        }))
    }

    /// Tells the children started from now on where their events go.
    pub(crate) fn announce(path: &Path) {
        // Set before the recording's children start (a child started concurrently with this
        // call may miss the recording).
        std::env::set_var(TRACE_FILE_ENV, path);
    }

    /// Children started from now on do not record.
    pub(crate) fn withdraw() {
        std::env::remove_var(TRACE_FILE_ENV);
    }

    /// In a child whose parent traces to a file: its part file beside that file.
    pub(crate) fn child_part() -> Option<PartFile> {
        let path = PathBuf::from(std::env::var_os(TRACE_FILE_ENV)?);
        let mut name = path.file_name()?.to_owned();
        name.push(format!(".part-{}", std::process::id()));
        fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.with_file_name(name))
            .ok()
            .map(PartFile)
    }

    /// The events of the part files beside `path` (`NAME.part-PID`), which are removed. A line
    /// that does not parse (a child killed in the middle of a write) is skipped.
    pub(crate) fn take_parts(path: &Path) -> Vec<Value> {
        let mut events = Vec::new();
        for part in part_files(path).unwrap_or_default() {
            if let Ok(text) = fs::read_to_string(&part) {
                events.extend(
                    text.lines()
                        .filter_map(|line| serde_json::from_str::<Value>(line).ok()),
                );
            }
            let _ = fs::remove_file(&part);
        }
        events
    }

    /// The part files beside `path`.
    fn part_files(path: &Path) -> Option<Vec<PathBuf>> {
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let prefix = format!("{}.part-", path.file_name()?.to_string_lossy());
        let entries = fs::read_dir(dir).ok()?;
        Some(
            entries
                .filter_map(Result::ok)
                .filter(|entry| entry.file_name().to_string_lossy().starts_with(&prefix))
                .map(|entry| entry.path())
                .collect(),
        )
    }
}

#[cfg(target_arch = "wasm32")]
mod no_files {
    use std::path::{Path, PathBuf};

    use serde_json::Value;

    /// No part files in the browser: never made (see [`child_part`]).
    #[derive(Debug)]
    pub(crate) enum PartFile {}

    impl PartFile {
        pub(crate) fn append(&self, _line: &str) {
            match *self {}
        }
    }

    /// No files: children hand their events back with their exit reports. Naming a trace file
    /// fails.
    pub(crate) fn for_recording(path: Option<&Path>) -> Result<Option<PathBuf>, String> {
        match path {
            None => Ok(None),
            Some(_) => Err("the browser has no trace files: record with \
                            amphi::trace::record() and export its events yourself"
                .into()),
        }
    }

    /// Never reached ([`for_recording`] gives no file).
    pub(crate) fn announce(_path: &Path) {}

    /// Never reached ([`for_recording`] gives no file).
    pub(crate) fn withdraw() {}

    /// A browser child learns from its start message instead.
    pub(crate) fn child_part() -> Option<PartFile> {
        None
    }

    /// No part files.
    pub(crate) fn take_parts(_path: &Path) -> Vec<Value> {
        Vec::new()
    }
}

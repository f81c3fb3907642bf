//! What travels through Redis: the keys of a pool, the fields of a task entry and of a result
//! entry, the build identity, and the reading of Redis replies.
//!
//! A pool named `P` lives in these keys:
//! - `amphi:P:tasks`, a stream of tasks with one consumer group, `workers`. A task entry has
//!   the fields `task` (the client's number for it), `reply` (the client's result stream),
//!   `ttl` (seconds the result stream lives after its last result), `build` (the submitter's
//!   build identity) and `call` (the task as a local worker's pipe carries it: a
//!   `ToWorker::Run` of the call, raw JSON text).
//! - `amphi:P:alive:W`, worker `W`'s heartbeat: set every quarter of its `claim_after`,
//!   expiring after `claim_after`, so the live workers are the keys that exist.
//! - `amphi:P:results:C`, one stream of results per client `C`. A result entry has the fields
//!   `task`, `worker` (the consumer's name) and either `reply` (a `FromWorker::Done`, as a
//!   local worker answers) or `refused` (a [`Refusal`], as JSON).

use std::io::Read;
use std::sync::OnceLock;

use redis::Value;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::Error;

/// The consumer group of every pool's task stream.
pub(super) const GROUP: &str = "workers";

/// The keys of one pool.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    pub(super) tasks: String,
    prefix: String,
}

impl Keys {
    pub(super) fn new(pool: &str) -> Keys {
        let prefix = format!("amphi:{pool}");
        Keys {
            tasks: format!("{prefix}:tasks"),
            prefix,
        }
    }

    /// The heartbeat key of worker `worker`, which lives `claim_after` after its last beat.
    pub(super) fn alive(&self, worker: &str) -> String {
        format!("{}:alive:{worker}", self.prefix)
    }

    /// The pattern of every heartbeat key of the pool.
    pub(super) fn alive_pattern(&self) -> String {
        format!("{}:alive:*", self.prefix)
    }

    /// The result stream of client `client`.
    pub(super) fn results(&self, client: &str) -> String {
        format!("{}:results:{client}", self.prefix)
    }
}

/// Why a worker refused a task without running it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) enum Refusal {
    /// The task came from another build of the program.
    WrongBuild {
        task_build: String,
        worker_build: String,
    },
    /// The task was delivered more times than allowed.
    Poison { deliveries: u64, limit: u64 },
}

impl Refusal {
    /// The error the task fails with, naming the worker that refused it.
    pub(super) fn into_error(self, worker: &str) -> Error {
        match self {
            Refusal::WrongBuild {
                task_build,
                worker_build,
            } => Error::WrongBuild {
                worker: worker.to_owned(),
                task_build,
                worker_build,
            },
            Refusal::Poison { deliveries, limit } => Error::PoisonTask {
                worker: worker.to_owned(),
                deliveries,
                limit,
            },
        }
    }
}

/// This program's build identity: the SHA-256 digest of its executable file, in hex, read
/// once.
pub(super) fn build_identity() -> Result<String, Error> {
    static IDENTITY: OnceLock<Result<String, String>> = OnceLock::new();
    IDENTITY
        .get_or_init(|| {
            let mut file = crate::sys::executable_file()
                .map_err(|err| format!("cannot open the running executable: {err}"))?;
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                let read = file
                    .read(&mut buffer)
                    .map_err(|err| format!("cannot read the running executable: {err}"))?;
                if read == 0 {
                    break;
                }
                hasher.update(&buffer[..read]);
            }
            Ok(hasher
                .finalize()
                .iter()
                .map(|byte| format!("{byte:02x}"))
                .collect())
        })
        .clone()
        .map_err(|reason| Error::InvalidArgument(format!("no build identity: {reason}")))
}

/// The bytes of field `name` of an entry, if it has it as a string.
pub(super) fn field<'a>(fields: &'a [(String, Value)], name: &str) -> Option<&'a [u8]> {
    fields.iter().find_map(|(key, value)| match value {
        Value::BulkString(bytes) if key == name => Some(bytes.as_slice()),
        _ => None,
    })
}

/// Field `name` of an entry as text.
pub(super) fn text_field<'a>(fields: &'a [(String, Value)], name: &str) -> Option<&'a str> {
    field(fields, name).and_then(|bytes| std::str::from_utf8(bytes).ok())
}

/// An entry of a stream: its id and its fields, in order.
pub(super) type Entry = (String, Vec<(String, Value)>);

/// The entries of a reply to `XREAD`/`XREADGROUP` on one stream (nil: none).
pub(super) fn read_reply(value: Value) -> Result<Vec<Entry>, String> {
    match value {
        Value::Nil => Ok(Vec::new()),
        Value::Array(streams) => {
            let mut entries = Vec::new();
            for stream in streams {
                match stream {
                    Value::Array(mut pair) if pair.len() == 2 => {
                        entries.extend(entry_list(pair.pop().unwrap_or(Value::Nil))?);
                    }
                    other => return Err(format!("unexpected stream in a read reply: {other:?}")),
                }
            }
            Ok(entries)
        }
        // RESP3 servers answer a map of streams.
        Value::Map(streams) => {
            let mut entries = Vec::new();
            for (_, list) in streams {
                entries.extend(entry_list(list)?);
            }
            Ok(entries)
        }
        other => Err(format!("unexpected read reply: {other:?}")),
    }
}

/// A list of entries, `[[id, [field, value, ...]], ...]`; an entry deleted from the stream
/// but still pending (nil fields) has no fields.
pub(super) fn entry_list(value: Value) -> Result<Vec<Entry>, String> {
    let Value::Array(items) = value else {
        return match value {
            Value::Nil => Ok(Vec::new()),
            other => Err(format!("unexpected entry list: {other:?}")),
        };
    };
    let mut entries = Vec::with_capacity(items.len());
    for item in items {
        let Value::Array(mut pair) = item else {
            return Err(format!("unexpected entry: {item:?}"));
        };
        if pair.len() != 2 {
            return Err(format!("unexpected entry: {pair:?}"));
        }
        let raw_fields = pair.pop().unwrap_or(Value::Nil);
        let id = match pair.pop() {
            Some(Value::BulkString(id)) => String::from_utf8_lossy(&id).into_owned(),
            other => return Err(format!("unexpected entry id: {other:?}")),
        };
        let mut fields = Vec::new();
        if let Value::Array(flat) = raw_fields {
            let mut flat = flat.into_iter();
            while let (Some(key), Some(value)) = (flat.next(), flat.next()) {
                let Value::BulkString(key) = key else {
                    return Err(format!("unexpected field name: {key:?}"));
                };
                fields.push((String::from_utf8_lossy(&key).into_owned(), value));
            }
        }
        entries.push((id, fields));
    }
    Ok(entries)
}

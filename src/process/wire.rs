//! What a parent sends its child and what the child sends back, as JSON (`serde_json`).
//!
//! The parent sends a [`Start`]: who the child is (name, daemon flag, identity), who its
//! parent is, and the target's arguments. The child answers with one [`Report`]: the value the
//! target returned, the panic that stopped it, or why it could not run it. The platform carries
//! both as opaque bytes; every byte read back is validated here (garbage is an error).

use serde::{Deserialize, Serialize};

use super::ProcessInfo;

/// Who the child is, and the target's arguments.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Start<Args> {
    pub(super) name: String,
    pub(super) daemon: bool,
    /// Python's `_identity`: the parent's identity plus the child's number among its siblings.
    pub(super) identity: Vec<u32>,
    pub(super) parent: ProcessInfo,
    pub(super) args: Args,
    /// The record of the shared objects in the arguments, which the child adopts (0: none).
    #[serde(default)]
    pub(super) holdings: u64,
}

/// How the target ended, as the child reports it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Report<T> {
    /// The target returned this value.
    Returned(T),
    /// The target panicked.
    Panicked {
        message: String,
        location: Option<String>,
    },
    /// The target called `crate::process::exit` with this code (its low 8 bits).
    Exited(i32),
    /// The child could not run the target, or could not serialise what it returned.
    Failed(String),
}

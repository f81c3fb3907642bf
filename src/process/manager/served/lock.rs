//! The served lock and reentrant lock. A lock may be released by any connection (Python's
//! `threading.Lock`), but it remembers which connection acquired it, to release it if that
//! connection ends while holding it. A reentrant lock is owned by the connection that
//! acquired it: only that one releases it ([`Refusal::NotOwner`] otherwise, as the local
//! `RLock`), and its end frees it whatever the depth.

use serde_json::Value;

use super::{done, gone, not_a_method, Monitor, Stop, Wait};
use crate::process::manager::protocol::{Refusal, Reply, SyncCall};
use crate::process::manager::state::ClientId;

/// A lock's state: who acquired it, if it is held.
#[derive(Debug, Default)]
struct Held {
    holder: Option<ClientId>,
}

/// A served lock.
pub(crate) struct ServedLock {
    monitor: Monitor<Held>,
}

impl ServedLock {
    pub(super) fn new() -> ServedLock {
        ServedLock {
            monitor: Monitor::new(Held::default()),
        }
    }

    pub(super) fn call(&self, client: ClientId, call: SyncCall, wait: &Wait<'_>) -> Reply {
        match call {
            SyncCall::Acquire => self.monitor.wait(
                wait,
                |held| {
                    held.holder.is_none().then(|| {
                        held.holder = Some(client);
                        done()
                    })
                },
                |_, stop| Err(refusal(stop)),
            ),
            SyncCall::Release { .. } => self.monitor.update(|held| match held.holder.take() {
                Some(_) => done(),
                None => Err(Refusal::NotLocked),
            })?,
            SyncCall::Locked => self
                .monitor
                .update(|held| Ok(Value::from(held.holder.is_some())))?,
            call => Err(not_a_method("lock", &call)),
        }
    }

    pub(super) fn client_gone(&self, client: ClientId) -> Result<(), Refusal> {
        self.monitor.update(|held| {
            if held.holder == Some(client) {
                held.holder = None;
            }
        })
    }
}

/// The refusal of a wait that stopped.
pub(super) fn refusal(stop: Stop) -> Refusal {
    match stop {
        Stop::Timeout => Refusal::Timeout,
        Stop::Gone => gone(),
    }
}

/// A reentrant lock's state (a served condition's lock too): its owner and depth.
#[derive(Debug, Default)]
pub(super) struct Reentrant {
    pub(super) owner: Option<ClientId>,
    pub(super) depth: u32,
}

impl Reentrant {
    /// Takes the lock (once more) for `client` if it is free or `client`'s.
    pub(super) fn try_take(&mut self, client: ClientId) -> Option<Reply> {
        match self.owner {
            Some(owner) if owner != client => None,
            _ => {
                self.owner = Some(client);
                self.depth += 1;
                Some(done())
            }
        }
    }

    /// Releases one level: [`Refusal::NotOwner`] unless `client` owns it.
    pub(super) fn release(&mut self, client: ClientId) -> Reply {
        if self.owner != Some(client) {
            return Err(Refusal::NotOwner);
        }
        self.depth -= 1;
        if self.depth == 0 {
            self.owner = None;
        }
        done()
    }

    /// Frees the lock if `client` owned it.
    pub(super) fn forget(&mut self, client: ClientId) {
        if self.owner == Some(client) {
            self.owner = None;
            self.depth = 0;
        }
    }

    /// The answers every reentrant lock gives: `Locked`, `IsOwned`, `Count` (the depth).
    pub(super) fn query(&self, client: ClientId, call: &SyncCall) -> Option<Reply> {
        match call {
            SyncCall::Locked => Some(Ok(Value::from(self.owner.is_some()))),
            SyncCall::IsOwned => Some(Ok(Value::from(self.owner == Some(client)))),
            SyncCall::Count => Some(Ok(Value::from(if self.owner == Some(client) {
                self.depth
            } else {
                0
            }))),
            _ => None,
        }
    }
}

/// A served reentrant lock.
pub(crate) struct ServedRLock {
    monitor: Monitor<Reentrant>,
}

impl ServedRLock {
    pub(super) fn new() -> ServedRLock {
        ServedRLock {
            monitor: Monitor::new(Reentrant::default()),
        }
    }

    pub(super) fn call(&self, client: ClientId, call: SyncCall, wait: &Wait<'_>) -> Reply {
        match call {
            SyncCall::Acquire => self.monitor.wait(
                wait,
                |lock| lock.try_take(client),
                |_, stop| Err(refusal(stop)),
            ),
            SyncCall::Release { .. } => self.monitor.update(|lock| lock.release(client))?,
            call => self
                .monitor
                .update(|lock| lock.query(client, &call))?
                .unwrap_or_else(|| Err(not_a_method("reentrant lock", &call))),
        }
    }

    pub(super) fn client_gone(&self, client: ClientId) -> Result<(), Refusal> {
        self.monitor.update(|lock| lock.forget(client))
    }
}

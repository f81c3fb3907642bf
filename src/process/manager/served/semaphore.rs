//! The served semaphore (bounded or not). Each connection's net acquisitions are counted, so
//! that the permits a connection took and did not give back return when it ends (a
//! release by another connection, as when a semaphore signals, counts against nobody's).

use std::collections::HashMap;

use serde_json::Value;

use super::lock::refusal;
use super::{done, not_a_method, Monitor, Wait};
use crate::process::manager::protocol::{Refusal, Reply, SyncCall};
use crate::process::manager::state::ClientId;

struct Permits {
    value: u32,
    initial: u32,
    bounded: bool,
    /// The permits each connection took and has not released.
    taken: HashMap<ClientId, u32>,
}

impl Permits {
    /// Gives back `count` permits, checking a bounded semaphore's ceiling.
    fn give_back(&mut self, count: u32) -> Reply {
        let value = self.value.checked_add(count);
        match value {
            Some(value) if !self.bounded || value <= self.initial => {
                self.value = value;
                done()
            }
            _ if self.bounded => Err(Refusal::SemaphoreOverflow {
                initial: self.initial,
            }),
            _ => Err(Refusal::Other("the semaphore's value overflows".into())),
        }
    }
}

/// A served semaphore.
pub(crate) struct ServedSemaphore {
    monitor: Monitor<Permits>,
}

impl ServedSemaphore {
    pub(super) fn new(value: u32, bounded: bool) -> ServedSemaphore {
        ServedSemaphore {
            monitor: Monitor::new(Permits {
                value,
                initial: value,
                bounded,
                taken: HashMap::new(),
            }),
        }
    }

    pub(super) fn call(&self, client: ClientId, call: SyncCall, wait: &Wait<'_>) -> Reply {
        match call {
            SyncCall::Acquire => self.monitor.wait(
                wait,
                |permits| {
                    (permits.value > 0).then(|| {
                        permits.value -= 1;
                        *permits.taken.entry(client).or_default() += 1;
                        done()
                    })
                },
                |_, stop| Err(refusal(stop)),
            ),
            SyncCall::Release { count } => self.monitor.update(|permits| {
                permits.give_back(count)?;
                if let Some(mine) = permits.taken.get_mut(&client) {
                    *mine = mine.saturating_sub(count);
                    if *mine == 0 {
                        permits.taken.remove(&client);
                    }
                }
                done()
            })?,
            SyncCall::Count => self
                .monitor
                .update(|permits| Ok(Value::from(permits.value)))?,
            call => Err(not_a_method("semaphore", &call)),
        }
    }

    pub(super) fn client_gone(&self, client: ClientId) -> Result<(), Refusal> {
        self.monitor.update(|permits| {
            if let Some(mine) = permits.taken.remove(&client) {
                let ceiling = if permits.bounded {
                    permits.initial
                } else {
                    u32::MAX
                };
                permits.value = permits.value.saturating_add(mine).min(ceiling);
            }
        })
    }
}

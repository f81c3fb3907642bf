//! The served barrier (Python's `threading.Barrier` semantics): a wait answers its arrival
//! index once every party has arrived; a timed-out wait, an `abort`, or a party whose
//! connection ended while it waited breaks the barrier, and every waiter then gets
//! [`Refusal::BrokenBarrier`] until `reset`.

use serde_json::Value;

use super::{done, gone, not_a_method, Monitor, Stop, Wait};
use crate::process::manager::protocol::{Refusal, Reply, SyncCall};

struct Parties {
    parties: u32,
    /// The parties waiting in this round.
    arrived: u32,
    /// Bumped when a round completes.
    round: u64,
    /// Bumped by every reset (the waiters of the round before it are broken).
    resets: u64,
    broken: bool,
}

/// A served barrier.
pub(crate) struct ServedBarrier {
    monitor: Monitor<Parties>,
}

impl ServedBarrier {
    pub(super) fn new(parties: u32) -> ServedBarrier {
        ServedBarrier {
            monitor: Monitor::new(Parties {
                parties,
                arrived: 0,
                round: 0,
                resets: 0,
                broken: false,
            }),
        }
    }

    pub(super) fn call(&self, call: SyncCall, wait: &Wait<'_>) -> Reply {
        match call {
            SyncCall::Wait => self.wait(wait),
            SyncCall::Abort => self
                .monitor
                .update(|parties| {
                    parties.broken = true;
                    parties.arrived = 0;
                })
                .and_then(|()| done()),
            SyncCall::Reset => self
                .monitor
                .update(|parties| {
                    parties.resets += 1;
                    parties.broken = false;
                    parties.arrived = 0;
                })
                .and_then(|()| done()),
            SyncCall::Locked => self.monitor.update(|parties| Value::from(parties.broken)),
            SyncCall::Count => self.monitor.update(|parties| Value::from(parties.parties)),
            SyncCall::Waiting => self.monitor.update(|parties| Value::from(parties.arrived)),
            call => Err(not_a_method("barrier", &call)),
        }
    }

    fn wait(&self, wait: &Wait<'_>) -> Reply {
        let arrival = self.monitor.update(|parties| {
            if parties.broken {
                return Err(Refusal::BrokenBarrier);
            }
            let index = parties.arrived;
            parties.arrived += 1;
            if parties.arrived == parties.parties {
                parties.arrived = 0;
                parties.round += 1;
                return Ok(Err(index));
            }
            Ok(Ok((index, parties.round, parties.resets)))
        })??;
        let (index, round, resets) = match arrival {
            // The last party: the round is complete.
            Err(index) => return Ok(Value::from(index)),
            Ok(waiting) => waiting,
        };
        self.monitor.wait(
            wait,
            |parties| {
                if parties.round != round {
                    Some(Ok(Value::from(index)))
                } else if parties.broken || parties.resets != resets {
                    Some(Err(Refusal::BrokenBarrier))
                } else {
                    None
                }
            },
            |parties, stop| {
                if parties.round != round {
                    return Ok(Value::from(index));
                }
                if parties.resets == resets {
                    parties.broken = true;
                    parties.arrived = 0;
                }
                Err(match stop {
                    Stop::Timeout => Refusal::BrokenBarrier,
                    Stop::Gone => gone(),
                })
            },
        )
    }
}

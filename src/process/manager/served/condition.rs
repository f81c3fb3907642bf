//! The served condition, over a reentrant lock of its own owned by a connection (Python's
//! `manager.Condition()`). A wait releases the lock whatever its depth, waits for a
//! notification (a ticket in a queue, moved to the notified set by `notify`), and takes the
//! lock back at the same depth before it answers, also when it timed out (then
//! [`Refusal::Timeout`]). A connection that ends frees the lock if it owned it.

use std::collections::{HashSet, VecDeque};

use serde_json::Value;

use super::lock::{refusal, Reentrant};
use super::{done, gone, not_a_method, Monitor, Stop, Wait};
use crate::process::manager::protocol::{Refusal, Reply, SyncCall};
use crate::process::manager::state::ClientId;
use crate::time::Deadline;

#[derive(Default)]
struct Waiters {
    lock: Reentrant,
    /// The tickets of the waits not yet notified, oldest first.
    waiting: VecDeque<u64>,
    /// The tickets notified whose waits have not yet taken the lock back.
    notified: HashSet<u64>,
    next_ticket: u64,
}

/// A served condition.
pub(crate) struct ServedCondition {
    monitor: Monitor<Waiters>,
}

impl ServedCondition {
    pub(super) fn new() -> ServedCondition {
        ServedCondition {
            monitor: Monitor::new(Waiters::default()),
        }
    }

    pub(super) fn call(&self, client: ClientId, call: SyncCall, wait: &Wait<'_>) -> Reply {
        match call {
            SyncCall::Acquire => self.monitor.wait(
                wait,
                |waiters| waiters.lock.try_take(client),
                |_, stop| Err(refusal(stop)),
            ),
            SyncCall::Release { .. } => self
                .monitor
                .update(|waiters| waiters.lock.release(client))?,
            SyncCall::Wait => self.wait(client, wait),
            SyncCall::Notify { count } => self.monitor.update(|waiters| {
                if waiters.lock.owner != Some(client) {
                    return Err(Refusal::NotOwner);
                }
                let count = count.map_or(usize::MAX, |count| count as usize);
                let woken = count.min(waiters.waiting.len());
                for ticket in waiters.waiting.drain(..woken) {
                    waiters.notified.insert(ticket);
                }
                Ok(Value::from(woken))
            })?,
            SyncCall::Waiting => self
                .monitor
                .update(|waiters| Ok(Value::from(waiters.waiting.len())))?,
            call => self
                .monitor
                .update(|waiters| waiters.lock.query(client, &call))?
                .unwrap_or_else(|| Err(not_a_method("condition", &call))),
        }
    }

    fn wait(&self, client: ClientId, wait: &Wait<'_>) -> Reply {
        let (ticket, depth) = self.monitor.update(|waiters| {
            if waiters.lock.owner != Some(client) {
                return Err(Refusal::NotOwner);
            }
            let depth = std::mem::take(&mut waiters.lock.depth);
            waiters.lock.owner = None;
            waiters.next_ticket += 1;
            let ticket = waiters.next_ticket;
            waiters.waiting.push_back(ticket);
            Ok((ticket, depth))
        })??;
        let take_back = |waiters: &mut Waiters| {
            waiters.lock.owner.is_none().then(|| {
                waiters.lock.owner = Some(client);
                waiters.lock.depth = depth;
            })
        };
        // `Some(notified)`: the wait stopped without the lock, which it must take back.
        let stopped = self.monitor.wait(
            wait,
            |waiters| {
                if !waiters.notified.contains(&ticket) {
                    return None;
                }
                take_back(waiters).map(|()| {
                    waiters.notified.remove(&ticket);
                    Ok(None)
                })
            },
            |waiters, stop| {
                // A notification that came with the deadline still counts.
                let notified = waiters.notified.remove(&ticket);
                waiters.waiting.retain(|waiting| *waiting != ticket);
                match stop {
                    Stop::Gone => Err(gone()),
                    Stop::Timeout => Ok(Some(notified)),
                }
            },
        )?;
        let Some(notified) = stopped else {
            return done();
        };
        // Timed out: the lock is taken back before the wait answers.
        let never = Wait {
            deadline: Deadline::NEVER,
            alive: wait.alive,
        };
        self.monitor.wait(
            &never,
            |waiters| take_back(waiters).map(|()| done()),
            |_, _| Err(gone()),
        )?;
        if notified {
            done()
        } else {
            Err(Refusal::Timeout)
        }
    }

    pub(super) fn client_gone(&self, client: ClientId) -> Result<(), Refusal> {
        self.monitor.update(|waiters| waiters.lock.forget(client))
    }
}

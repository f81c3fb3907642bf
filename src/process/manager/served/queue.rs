//! The served queue (plain or joinable): items as JSON values, first in first out, with an
//! optional maxsize. A `put` waits for room and a `get` for an item until the call's timeout
//! ([`Refusal::Timeout`]; the client answers `Full` or `Empty` for its `try_` forms). A
//! joinable queue counts unfinished tasks: one per put, one less per `task_done`, and `join`
//! waits for none to be left. A proxy inside a queued item stays counted in transit, so its
//! object lives until the item is taken (or the manager ends).

use std::collections::VecDeque;

use serde_json::Value;

use super::lock::refusal;
use super::{done, not_a_method, Monitor, Wait};
use crate::process::manager::protocol::{Refusal, Reply, SyncCall};

struct Items {
    items: VecDeque<Value>,
    maxsize: usize,
    unfinished: usize,
}

/// A served queue.
pub(crate) struct ServedQueue {
    monitor: Monitor<Items>,
    joinable: bool,
}

impl ServedQueue {
    pub(super) fn new(maxsize: usize, joinable: bool) -> ServedQueue {
        ServedQueue {
            monitor: Monitor::new(Items {
                items: VecDeque::new(),
                maxsize,
                unfinished: 0,
            }),
            joinable,
        }
    }

    pub(super) fn call(&self, call: SyncCall, wait: &Wait<'_>) -> Reply {
        let joinable = self.joinable;
        match call {
            SyncCall::Put { item } => {
                let mut item = Some(item);
                self.monitor.wait(
                    wait,
                    |items| {
                        (items.maxsize == 0 || items.items.len() < items.maxsize).then(|| {
                            items.items.extend(item.take());
                            items.unfinished += 1;
                            done()
                        })
                    },
                    |_, stop| Err(refusal(stop)),
                )
            }
            SyncCall::Get => self.monitor.wait(
                wait,
                |items| items.items.pop_front().map(Ok),
                |_, stop| Err(refusal(stop)),
            ),
            SyncCall::Waiting => self.monitor.update(|items| Value::from(items.items.len())),
            SyncCall::Count => self.monitor.update(|items| Value::from(items.maxsize)),
            SyncCall::Full => self.monitor.update(|items| {
                Value::from(items.maxsize > 0 && items.items.len() >= items.maxsize)
            }),
            SyncCall::TaskDone if joinable => self.monitor.update(|items| {
                if items.unfinished == 0 {
                    return Err(Refusal::TooManyTaskDone);
                }
                items.unfinished -= 1;
                done()
            })?,
            SyncCall::Join if joinable => self.monitor.wait(
                wait,
                |items| (items.unfinished == 0).then(done),
                |_, stop| Err(refusal(stop)),
            ),
            SyncCall::Unfinished if joinable => {
                self.monitor.update(|items| Value::from(items.unfinished))
            }
            call => Err(not_a_method(
                if joinable { "joinable queue" } else { "queue" },
                &call,
            )),
        }
    }
}

//! The client's side of a pool over Redis: two amphi threads that stand where a local pool's
//! supervisors stand, behind the same [`Shared`] queue and phase, so the pool's front end
//! (`map`, `imap`, `apply`, the executor's `submit`) is the local pool's, unchanged.
//!
//! - The dispatcher takes the queued tasks (up to [`BATCH`] at a time), gives each a number,
//!   records its `finish` among the pending tasks, and adds them to the pool's task stream in
//!   one pipelined round trip.
//! - The collector reads the client's result stream (`XREAD BLOCK` in slices of
//!   [`SLICE`]), settles each pending task with its result (a duplicate, from a task that was
//!   delivered twice, finds nothing pending and is dropped), and trims what it has read.
//!
//! Both connections have read and write timeouts, so a server that stops answering is an
//! error, never a hang. A failed command (the server stopped, restarted, or cannot be
//! reached) breaks the pool: the queued tasks fail with [`Error::BrokenPool`], the tasks
//! sent and not answered with [`Error::Redis`], and submissions with `BrokenPool`. A
//! terminated pool fails its unanswered tasks with [`Error::Cancelled`] (the workers may
//! still run them; their results expire unread). Once the pool is closed and every answer is
//! in, or once it is terminated or broken, both threads end and the result stream is deleted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::Connection;

use super::protocol::{read_reply, text_field, Keys, Refusal};
use crate::process::pool::call::Reply;
use crate::process::pool::shared::{Finish, Phase, Shared};
use crate::process::pool::worker::FromWorker;
use crate::sync::spin;
use crate::Error;

/// How long the collector waits for results before it looks at the pool's phase again.
pub(super) const SLICE: Duration = Duration::from_millis(100);

/// The most tasks the dispatcher adds to the stream in one round trip.
const BATCH: usize = 256;

/// The most results the collector reads in one round trip.
const READ_COUNT: usize = 1024;

/// How long a command may wait for the server beyond its own blocking time.
pub(super) const SERVER_PATIENCE: Duration = Duration::from_secs(10);

/// What the client's two threads share.
pub(super) struct Link {
    pub(super) shared: Arc<Shared>,
    pub(super) keys: Keys,
    /// The client's result stream.
    pub(super) results: String,
    pub(super) build: String,
    /// Seconds a result stream lives after its last result.
    pub(super) ttl_secs: u64,
    /// The server, as the errors name it.
    pub(super) server: String,
    pending: Mutex<Pending>,
    dispatching: AtomicBool,
}

/// The tasks sent and not answered, by number; once the connection is lost, the error every
/// later one fails with at once.
#[derive(Default)]
struct Pending {
    finishes: HashMap<u64, Finish>,
    lost: Option<Error>,
}

impl Link {
    pub(super) fn new(
        shared: Arc<Shared>,
        keys: Keys,
        results: String,
        build: String,
        ttl_secs: u64,
        server: String,
    ) -> Link {
        Link {
            shared,
            keys,
            results,
            build,
            ttl_secs,
            server,
            pending: Mutex::new(Pending::default()),
            dispatching: AtomicBool::new(true),
        }
    }

    /// The connection failed: breaks the pool and fails every task sent and not answered.
    fn lose(&self, doing: &str, err: &redis::RedisError) {
        let reason = format!(
            "the connection to the Redis server {} was lost while {doing} ({err}); connect again",
            self.server
        );
        let error = Error::Redis(reason.clone());
        let finishes: Vec<Finish> = {
            let mut pending = spin::lock(&self.pending);
            pending.lost.get_or_insert(error.clone());
            pending.finishes.drain().map(|(_, finish)| finish).collect()
        };
        for process in self.shared.end(Phase::Broken(reason)) {
            let _ = process.kill();
        }
        for finish in finishes {
            finish(Err(error.clone()), "");
        }
    }

    /// Fails every task sent and not answered with `error`, and every later one.
    fn fail_pending(&self, error: Error) {
        let finishes: Vec<Finish> = {
            let mut pending = spin::lock(&self.pending);
            pending.lost.get_or_insert(error.clone());
            pending.finishes.drain().map(|(_, finish)| finish).collect()
        };
        for finish in finishes {
            finish(Err(error.clone()), "");
        }
    }

    /// Records a task sent as number `task`; fails it at once if the connection was lost.
    fn expect(&self, task: u64, finish: Finish) {
        let mut pending = spin::lock(&self.pending);
        match &pending.lost {
            Some(error) => {
                let error = error.clone();
                drop(pending);
                finish(Err(error), "");
            }
            None => {
                pending.finishes.insert(task, finish);
            }
        }
    }

    /// The task numbered `task`, if it is still waiting for its result.
    fn answered(&self, task: u64) -> Option<Finish> {
        spin::lock(&self.pending).finishes.remove(&task)
    }

    fn nothing_pending(&self) -> bool {
        spin::lock(&self.pending).finishes.is_empty()
    }
}

/// The dispatcher's loop (see the module docs).
pub(super) fn dispatch(link: Arc<Link>, mut connection: Connection) {
    let mut number = 0u64;
    while let Some(first) = link.shared.next_job() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match link.shared.try_next_job() {
                Some(job) => batch.push(job),
                None => break,
            }
        }
        let mut pipe = redis::pipe();
        let mut sent = 0;
        for mut job in batch {
            if !(job.start)() {
                continue;
            }
            number += 1;
            pipe.cmd("XADD")
                .arg(&link.keys.tasks)
                .arg("*")
                .arg("task")
                .arg(number)
                .arg("reply")
                .arg(&link.results)
                .arg("ttl")
                .arg(link.ttl_secs)
                .arg("build")
                .arg(&link.build)
                .arg("call")
                .arg(job.message.as_slice())
                .ignore();
            // Recorded before it is sent: its result may come before the reply to XADD.
            link.expect(number, job.finish);
            sent += 1;
        }
        if sent == 0 {
            continue;
        }
        if let Err(err) = pipe.query::<()>(&mut connection) {
            link.lose("submitting tasks", &err);
            break;
        }
    }
    link.dispatching.store(false, Ordering::Release);
    link.shared.supervisor_ended();
}

/// The collector's loop (see the module docs).
pub(super) fn collect(link: Arc<Link>, mut connection: Connection) {
    let mut last = "0-0".to_owned();
    let mut read_any = false;
    loop {
        match link.shared.phase() {
            Phase::Terminated => {
                link.fail_pending(Error::Cancelled);
                break;
            }
            Phase::Broken(reason) => {
                link.fail_pending(Error::BrokenPool(reason));
                break;
            }
            Phase::Running | Phase::Closed => {}
        }
        if !link.dispatching.load(Ordering::Acquire) && link.nothing_pending() {
            break;
        }
        let mut pipe = redis::pipe();
        if read_any {
            // Everything before the last result read is settled: keep the stream short.
            pipe.cmd("XTRIM")
                .arg(&link.results)
                .arg("MINID")
                .arg(&last)
                .ignore();
        }
        pipe.cmd("XREAD")
            .arg("COUNT")
            .arg(READ_COUNT)
            .arg("BLOCK")
            .arg(SLICE.as_millis() as u64)
            .arg("STREAMS")
            .arg(&link.results)
            .arg(&last);
        let reply = match pipe.query::<(redis::Value,)>(&mut connection) {
            Ok((reply,)) => reply,
            Err(err) => {
                if !matches!(link.shared.phase(), Phase::Terminated) {
                    link.lose("waiting for results", &err);
                }
                break;
            }
        };
        let entries = match read_reply(reply) {
            Ok(entries) => entries,
            Err(reason) => {
                link.fail_pending(Error::Decode(format!(
                    "the result stream {} holds something else: {reason}",
                    link.results
                )));
                let _ = link.shared.end(Phase::Broken(reason));
                break;
            }
        };
        for (id, fields) in entries {
            last = id;
            read_any = true;
            deliver(&link, &fields);
        }
    }
    let _ = redis::cmd("DEL")
        .arg(&link.results)
        .query::<()>(&mut connection);
    link.shared.supervisor_ended();
}

/// Settles the task a result entry answers, if it is still waiting.
fn deliver(link: &Link, fields: &[(String, redis::Value)]) {
    let Some(task) = text_field(fields, "task").and_then(|task| task.parse::<u64>().ok()) else {
        return;
    };
    let Some(finish) = link.answered(task) else {
        return; // answered already: a task delivered twice ran twice
    };
    let worker = text_field(fields, "worker").unwrap_or("an unnamed worker");
    let outcome = if let Some(reply) = super::protocol::field(fields, "reply") {
        match serde_json::from_slice::<FromWorker>(reply) {
            Ok(FromWorker::Done(reply)) => Ok(reply),
            Ok(other) => Ok(Reply::Decode(format!(
                "the worker answered {other:?} instead of a result"
            ))),
            Err(err) => Ok(Reply::Decode(format!(
                "the worker's answer is not valid: {err}"
            ))),
        }
    } else if let Some(refused) = super::protocol::field(fields, "refused") {
        match serde_json::from_slice::<Refusal>(refused) {
            Ok(refusal) => Err(refusal.into_error(worker)),
            Err(err) => Ok(Reply::Decode(format!(
                "the worker's refusal is not valid: {err}"
            ))),
        }
    } else {
        Ok(Reply::Decode(
            "the worker's answer has neither a reply nor a refusal".to_owned(),
        ))
    };
    finish(outcome, worker);
}

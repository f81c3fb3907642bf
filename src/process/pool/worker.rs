//! The worker's side: the loop a pool's worker process runs, and the messages it exchanges with
//! the parent over its own duplex pipe.
//!
//! A worker is a daemonic [`Process`](crate::process::Process) whose target is [`work`]. It
//! runs the initializer, if any, and answers [`FromWorker::Ready`] (or
//! [`FromWorker::InitFailed`], and ends); then it takes one [`ToWorker`] at a time from its
//! pipe and answers each [`ToWorker::Run`] with [`FromWorker::Done`] before it takes the next,
//! until [`ToWorker::Stop`] or the end of its pipe (the parent is gone). So of the tasks sent
//! to a worker and not answered, only the oldest can have started. A task's panic is its reply; the worker lives on. A
//! task that calls [`exit`](crate::process::exit) ends the worker with that code, which the
//! parent reports as the task's [`Error::WorkerDied`](crate::Error::WorkerDied).

use serde::{Deserialize, Serialize};

use super::call::{Answer, Call, CallRef, Reply};
use crate::process::Connection;

/// What the parent sends a worker (`C`: the call, which the parent sends by reference).
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum ToWorker<C = Call> {
    /// Run this call and answer with `Done`.
    Run(C),
    /// End now (the pool is closing, or the worker has done its `maxtasksperchild`).
    Stop,
}

/// What a worker sends the parent.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum FromWorker {
    /// The initializer ran (or there is none): send tasks.
    Ready,
    /// The initializer failed; the worker ends.
    InitFailed(Reply),
    /// How the last call ended.
    Done(Reply),
}

/// What a worker is started with: its end of the pipe, and the initializer.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct WorkerStart {
    /// Typed for what the worker sends, so the parent receives with a timeout; the worker
    /// sends and receives bytes.
    pub(super) channel: Connection<FromWorker>,
    pub(super) initializer: Option<Call>,
}

/// The worker's target (see the module docs).
pub(super) fn work(start: WorkerStart) {
    let channel = start.channel;
    let send = |message: &FromWorker| match serde_json::to_vec(message) {
        Ok(bytes) => channel.send_bytes(&bytes).is_ok(),
        Err(_) => false,
    };
    if let Some(initializer) = start.initializer {
        if let Answer::Failed(reply) = initializer.run() {
            send(&FromWorker::InitFailed(reply));
            return;
        }
    }
    if !send(&FromWorker::Ready) {
        return;
    }
    while let Ok(bytes) = channel.recv_bytes() {
        let answer = match serde_json::from_slice::<ToWorker<CallRef<'_>>>(&bytes) {
            Ok(ToWorker::Run(call)) => {
                let _task = crate::trace::span!("pool.task", submission = call.submission);
                call.run()
            }
            Ok(ToWorker::Stop) => return,
            Err(err) => Answer::Failed(Reply::Decode(format!(
                "the task message is not valid: {err}"
            ))),
        };
        let sent = match answer {
            Answer::Returned(message) => channel.send_bytes(&message).is_ok(),
            Answer::Failed(reply) => send(&FromWorker::Done(reply)),
        };
        if !sent {
            return;
        }
    }
}

//! The process pool's side of the streaming iterators ([`Imap`](crate::thread::Imap) and
//! [`ImapUnordered`](crate::thread::ImapUnordered), the thread pool's engine): a [`Feed`] that
//! serialises each chunk of the input as one call to a worker.
//!
//! While it feeds, the pool counts it among its feeds, so the workers stay after `close` until
//! the input is exhausted or the iterator dropped. A chunk whose arguments do not serialise
//! fails alone; a submission refused (the pool terminated or broken) ends the input with that
//! error.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::call::Code;
use super::shared::{Job, Shared};
use crate::thread::pool::imap::{next_chunk, Delivery, Fed, Feed};

/// Reads chunks of the input and submits each as one call.
pub(super) struct WorkerFeed<I> {
    shared: Arc<Shared>,
    input: I,
    code: Code,
    chunksize: usize,
}

impl<I> WorkerFeed<I> {
    /// A feed over `input`, counted among the pool's feeds until it is dropped.
    pub(super) fn new(shared: Arc<Shared>, input: I, code: Code, chunksize: usize) -> Self {
        shared.feed_started();
        WorkerFeed {
            shared,
            input,
            code,
            chunksize,
        }
    }
}

impl<A, R, I> Feed<R> for WorkerFeed<I>
where
    I: Iterator<Item = A>,
    A: Serialize,
    R: DeserializeOwned + Send + 'static,
{
    fn submit_next(&mut self, delivery: Delivery<R>) -> Fed {
        let Some(chunk) = next_chunk(&mut self.input, self.chunksize) else {
            return Fed::Exhausted;
        };
        let submission = crate::trace::next_submission();
        let _submit = crate::trace::span!("pool.submit", submission);
        let message = match self.code.message(submission, &chunk) {
            Ok(message) => message,
            Err(error) => {
                delivery.finish(Err(error));
                return Fed::More;
            }
        };
        let delivery = Arc::new(delivery);
        let starting = Arc::clone(&delivery);
        let job = Job {
            message,
            start: Box::new(move || starting.start()),
            finish: Box::new(move |outcome, worker| {
                delivery.finish(outcome.and_then(|reply| reply.decode::<Vec<R>>(worker)));
            }),
        };
        match self.shared.submit(vec![job], true) {
            Ok(()) => Fed::More,
            Err((jobs, error)) => {
                for job in jobs {
                    job.cancel(error.clone());
                }
                Fed::Last
            }
        }
    }
}

impl<I> Drop for WorkerFeed<I> {
    fn drop(&mut self) {
        self.shared.feed_ended();
    }
}

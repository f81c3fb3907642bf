//! Seed 001, "Queue": a producer puts five numbers and then a sentinel on a [`Queue`]; a
//! consumer takes items until it meets the sentinel.
//!
//! The Python original runs the producer and the consumer as two processes sharing a
//! `multiprocessing.Queue`; this version runs them as two amphi threads sharing a [`Queue`]
//! (queues between processes come later). Python's `None` sentinel is `Option::None` here: the
//! queue carries `Option<u32>`. The produce and consume lines interleave differently from run
//! to run, as in Python; what is consumed, and its order, is always the same.

use std::sync::Arc;

use crate::Run;
use amphi::{thread, Error, Queue};

const ITEMS: u32 = 5;

pub(super) fn run(run: &mut Run) -> Result<(), Error> {
    let queue: Arc<Queue<Option<u32>>> = Arc::new(Queue::new(0));

    let producer = {
        let (queue, out) = (Arc::clone(&queue), run.out().clone());
        thread::Builder::new().name("producer").spawn(move || {
            for i in 0..ITEMS {
                queue.put(Some(i))?;
                out.line(format!("produced: {i}"));
            }
            queue.put(None)?; // the sentinel: nothing more will come
            Ok::<_, Error>(())
        })?
    };
    let consumer = {
        let (queue, out) = (Arc::clone(&queue), run.out().clone());
        thread::Builder::new().name("consumer").spawn(move || {
            let mut consumed = Vec::new();
            while let Some(item) = queue.get()? {
                out.line(format!("consumed: {item}"));
                consumed.push(item);
            }
            Ok::<_, Error>(consumed)
        })?
    };

    producer.join()??;
    let consumed = consumer.join()??;
    let expected: Vec<u32> = (0..ITEMS).collect();
    run.check(
        "the consumer got 0..5 in order",
        consumed == expected,
        format!("consumed {consumed:?}"),
    );
    run.check(
        "the sentinel stopped the consumer and nothing is left",
        queue.empty(),
        format!("{} items left in the queue", queue.qsize()),
    );
    Ok(())
}

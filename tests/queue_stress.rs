//! [`amphi::Queue`] under many threads, after CPython's `BaseSimpleQueueTest` (`test_order`,
//! `test_many_threads`, `_nonblock`, `_timeout`), and a stress test of 4 producers and 4
//! consumers through a bounded queue: on native threads and, through `wasm-pack test`, on Web
//! Workers.

#[allow(unused_macros)] // conformance_async! has no use here
#[macro_use]
mod common;

use std::sync::Arc;
use std::time::Duration;

use amphi::{GetError, Queue, Thread};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_dedicated_worker);

/// Puts every item as `Some(item)` (CPython's `feed`; the caller adds the `None` sentinel).
fn feed(q: &Queue<Option<u32>>, items: impl Iterator<Item = u32>) {
    for item in items {
        q.put(Some(item)).unwrap();
    }
}

conformance! {
    fn one_producer_one_consumer_keeps_order() {
        // BaseSimpleQueueTest.test_order, with a sentinel.
        let q = Arc::new(Queue::new(0));
        let consumer = {
            let q = q.clone();
            Thread::spawn(move || {
                let mut results = Vec::new();
                while let Some(item) = q.get().unwrap() {
                    results.push(item);
                }
                results
            })
            .unwrap()
        };
        feed(&q, 0..100);
        q.put(None).unwrap();
        assert_eq!(consumer.join().unwrap(), (0..100).collect::<Vec<_>>());
    }

    fn many_threads_with_each_get_form() {
        // test_many_threads, _nonblock and _timeout: 4 feeders and 4 consumers each.
        let count: u32 = if cfg!(miri) { 40 } else { 2_000 };
        for form in ["blocking", "try", "timeout"] {
            let q: Arc<Queue<Option<u32>>> = Arc::new(Queue::new(0));
            let feeders: Vec<_> = (0..4)
                .map(|f| {
                    let q = q.clone();
                    Thread::spawn(move || {
                        feed(&q, (f..count).step_by(4));
                        q.put(None).unwrap();
                    })
                    .unwrap()
                })
                .collect();
            let consumers: Vec<_> = (0..4)
                .map(|_| {
                    let q = q.clone();
                    Thread::spawn(move || {
                        let mut results = Vec::new();
                        loop {
                            let item = match form {
                                "blocking" => q.get().unwrap(),
                                "try" => match q.try_get() {
                                    Ok(item) => item,
                                    Err(GetError::Empty) => continue,
                                    Err(other) => panic!("{other}"),
                                },
                                _ => match q.get_timeout(Duration::from_micros(10)) {
                                    Ok(item) => item,
                                    Err(GetError::Timeout) => continue,
                                    Err(other) => panic!("{other}"),
                                },
                            };
                            match item {
                                Some(item) => results.push(item),
                                None => return results,
                            }
                        }
                    })
                    .unwrap()
                })
                .collect();
            feeders.into_iter().for_each(|f| f.join().unwrap());
            let mut results: Vec<_> =
                consumers.into_iter().flat_map(|c| c.join().unwrap()).collect();
            results.sort_unstable();
            assert_eq!(results, (0..count).collect::<Vec<_>>(), "{form} gets");
            assert!(q.empty());
        }
    }

    fn stress_four_producers_four_consumers_through_a_bounded_queue() {
        // 4 producers x 100,000 items through a queue of 1,000, natively and in the browser;
        // every item arrives exactly once and each consumer sees each producer's items in
        // order. 50 per producer under Miri, which is slow.
        const PRODUCERS: usize = 4;
        const CONSUMERS: usize = 4;
        let per_producer: u32 = if cfg!(miri) { 50 } else { 100_000 };
        let q: Arc<Queue<Option<(usize, u32)>>> = Arc::new(Queue::bounded(1_000));
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let q = q.clone();
                Thread::spawn(move || {
                    let mut last_seen: [Option<u32>; PRODUCERS] = [None; PRODUCERS];
                    let mut received = Vec::new();
                    while let Some((producer, seq)) = q.get().unwrap() {
                        assert!(
                            last_seen[producer].is_none_or(|last| last < seq),
                            "producer {producer}'s item {seq} came after {:?}",
                            last_seen[producer]
                        );
                        last_seen[producer] = Some(seq);
                        received.push((producer, seq));
                    }
                    received
                })
                .unwrap()
            })
            .collect();
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|producer| {
                let q = q.clone();
                Thread::spawn(move || {
                    for seq in 0..per_producer {
                        q.put(Some((producer, seq))).unwrap();
                    }
                })
                .unwrap()
            })
            .collect();
        producers.into_iter().for_each(|p| p.join().unwrap());
        for _ in 0..CONSUMERS {
            q.put(None).unwrap();
        }
        let mut seen = vec![vec![false; per_producer as usize]; PRODUCERS];
        let mut total = 0;
        for consumer in consumers {
            for (producer, seq) in consumer.join().unwrap() {
                assert!(!seen[producer][seq as usize], "({producer}, {seq}) received twice");
                seen[producer][seq as usize] = true;
                total += 1;
            }
        }
        assert_eq!(total, PRODUCERS * per_producer as usize, "every item received");
        assert!(q.empty());
    }
}

//! [`Queue`]: Python's `multiprocessing.Queue`, a queue of serialised items in a byte ring of
//! the shared region (see `ring`).
//!
//! Items travel as JSON (`serde`), one frame each. A bounded queue (`maxsize`, kept in the
//! object header's aux) is also bounded by the ring's 64 KiB: a put waits for room in the ring
//! as well as for a free slot, as a put into a pipe waits for its reader. An unbounded queue's
//! put never waits: what does not fit the ring waits in the sender, in order, and a feeder
//! thread writes it as getters make room (Python's design; see `ring::feeder`). An item longer
//! than the ring streams through it while a getter drains it, so items of any size (up to
//! 4 GiB) travel.
//!
//! Closing is the thread [`crate::Queue`]'s, for the whole tree: puts fail with
//! [`PutError::Closed`], gets take what is left, then fail with [`GetError::Closed`], and
//! sleepers wake up. The errors are the thread queue's too: a put fails with a [`PutError`]
//! that hands the item back, a get with a [`GetError`].

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::region::Handle;
use super::ring::drive;
use super::ring::{Ending, Feeder, Receiving, Ring, Sending, WRITE_CLOSED};
use crate::error::{GetError, PutError};
use crate::time::Deadline;
use crate::Error;

const KIND_QUEUE: u32 = 0x10;

/// Serialises `item` as a message (JSON).
pub(super) fn encode<T: Serialize>(item: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(item).map_err(|err| Error::Encode(err.to_string()))
}

/// Deserialises a message (JSON).
pub(super) fn decode<T: DeserializeOwned>(message: &[u8]) -> Result<T, Error> {
    serde_json::from_slice(message).map_err(|err| Error::Decode(err.to_string()))
}

/// A first-in first-out queue shared by processes, as Python's `multiprocessing.Queue`.
///
/// A handle to a queue in the shared region: clone it, or pass it to children as (part of) a
/// [`Process`](super::Process)'s arguments, and every copy is the same queue. Items
/// are serialised with `serde` (JSON): a put copies the item in, a get makes a new one.
///
/// [`put`](Queue::put) and [`get`](Queue::get) come in four forms: blocking, `try_`
/// (Python's `put_nowait`/`get_nowait`: [`PutError::Full`], [`GetError::Empty`]), `_timeout`
/// (`Timeout`) and `_async`. The blocking forms return `WouldBlock` on the browser's main
/// thread, where the `try_` and `_async` forms work. A put takes the item by value, as the
/// thread queue's does, and hands it back in its [`PutError`] when it could not be put. An
/// item that does not serialise is [`PutError::Encode`] and leaves the queue as it was.
///
/// # Unbounded queues never block a producer
///
/// With a `maxsize`, a put waits for a free slot and for room in the queue's 64 KiB ring of
/// bytes. Without one (`maxsize` 0), every form of put returns at once, on every thread (the
/// browser's main thread included): an item that fits the ring's room, when nothing of this
/// process waits before it, is written at once; any other waits in this process's buffer,
/// and a feeder thread writes the buffer into the ring, in order, as getters make room, as
/// Python's feeder thread does. So a consumer that died never blocks a producer, and the items
/// of one process arrive in the order it put them. [`qsize`](Queue::qsize) counts the items
/// waiting in this process's buffer too.
///
/// What is buffered belongs to the process: a child whose target returned first waits until
/// its buffers are written (Python's exit-time `join_thread`), giving up a queue whose ring
/// took nothing for 5 s (its consumers are gone), unless
/// [`cancel_join_thread`](Queue::cancel_join_thread) was called; the main process does not
/// wait by itself: call [`join_thread`](Queue::join_thread) before it ends if its consumers
/// may lag. A killed process loses its buffer. [`close`](Queue::close) lets this process's
/// buffer go in first, then closes the queue. If a buffered item cannot be written (the
/// queue was closed by another process, or broken), the rest of the buffer is dropped and the
/// next put reports why.
///
/// A process that dies between items costs nothing (a consumer killed while it waits in
/// `get` included). One that dies in the middle of an item (killed while a long item streams)
/// leaves a partial item: the queue is then broken, and every call returns `PeerDied`
/// ([`PutError::PeerDied`], [`GetError::PeerDied`]) rather than waiting forever. A consumer waiting for a producer that died
/// between items waits like any consumer: close the queue once the producers are joined, or
/// use `get_timeout`.
///
/// # Cancelling an `_async` call
///
/// Dropping the future of [`put_async`](Queue::put_async) or [`get_async`](Queue::get_async)
/// before it completes puts or takes nothing, with one exception: an item longer than the
/// ring (64 KiB, with its 4-byte length) that has begun to stream cannot stop half way, so a
/// new thread finishes it: a put is then delivered whole, and a get reads the item to its end
/// and discards it.
///
/// # Examples
///
/// ```
/// use amphi::process::{Process, Queue};
///
/// fn produce(queue: Queue<Option<u32>>) {
///     for n in 1..=3 {
///         queue.put(Some(n)).unwrap();
///     }
///     queue.put(None).unwrap(); // the sentinel
/// }
///
/// let queue = Queue::new(2)?;
/// let producer = Process::new(produce, queue.clone());
/// producer.start()?;
/// let mut total = 0;
/// while let Some(n) = queue.get()? {
///     total += n;
/// }
/// producer.join()?;
/// assert_eq!(total, 6);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Queue<T> {
    /// The queue's object and ring, and this process's sender side (shared by the handles
    /// cloned from one another).
    feeder: Arc<Feeder>,
    ring: Ring,
    item: PhantomData<fn(T) -> T>,
}

/// Turns a queue ring's flags into the error of a put that may not go in.
fn refuse_closed(flags: u32) -> Option<Error> {
    (flags & WRITE_CLOSED != 0).then_some(Error::Closed)
}

impl<T> Queue<T> {
    fn from_ring(object: super::region::Object, ring: Ring) -> Queue<T> {
        Queue {
            feeder: Feeder::new(object, ring, refuse_closed),
            ring,
            item: PhantomData,
        }
    }

    /// Whether puts go through this process's buffer (an unbounded queue, see the type's
    /// docs).
    pub(super) fn buffered(&self) -> bool {
        self.ring.aux() == 0
    }
}

impl<T: Serialize + DeserializeOwned> Queue<T> {
    /// A queue holding at most `maxsize` items, or any number for `maxsize == 0` (as in
    /// Python). [`Error::InvalidArgument`] above `u32::MAX`; [`Error::SharedMemory`] where
    /// there is no region or it is full.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::<String>::new(0)?;
    /// assert_eq!(queue.maxsize(), 0);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(maxsize: usize) -> Result<Queue<T>, Error> {
        let maxsize = u32::try_from(maxsize)
            .map_err(|_| Error::InvalidArgument(format!("maxsize {maxsize} is too large")))?;
        let (object, ring) = Ring::create(KIND_QUEUE, maxsize)?;
        Ok(Queue::from_ring(object, ring))
    }

    /// A queue with no bound on its number of items (`Queue::new(0)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::unbounded()?;
    /// for n in 0..100 {
    ///     queue.put(n)?;
    /// }
    /// assert_eq!(queue.qsize(), 100);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn unbounded() -> Result<Queue<T>, Error> {
        Queue::new(0)
    }

    /// Puts `item` at the back, waiting for a free slot and room in the ring; into an
    /// unbounded queue, at once (see the type's docs).
    ///
    /// [`PutError::Closed`] once the queue is closed, [`PutError::Encode`] if the item does
    /// not serialise, [`PutError::WouldBlock`] on the browser's main thread; the item comes
    /// back in each.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(1)?;
    /// queue.put("hello".to_owned())?;
    /// assert_eq!(queue.get()?, "hello");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_within(item, Deadline::NEVER)
    }

    /// Puts `item` if that needs no waiting; [`PutError::Full`] otherwise (also when the
    /// item is longer than the ring, which needs a getter to drain it: use `put`). An
    /// unbounded queue is never full (see the type's docs).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(1)?;
    /// queue.try_put(1)?;
    /// assert_eq!(queue.try_put(2), Err(amphi::PutError::Full(2)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_put(&self, item: T) -> Result<(), PutError<T>> {
        self.put_within(item, Deadline::NOW)
    }

    /// Puts `item`, or returns [`PutError::Timeout`] if there is no free slot and room for it
    /// (or, for an item longer than the ring, for its beginning) within `timeout`. An item
    /// longer than the ring, once begun, is written to its end as a getter drains it.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let queue = amphi::process::Queue::new(1)?;
    /// queue.put(1)?;
    /// let refused = queue.put_timeout(2, Duration::from_millis(5));
    /// assert_eq!(refused, Err(amphi::PutError::Timeout(2)));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn put_timeout(&self, item: T, timeout: Duration) -> Result<(), PutError<T>> {
        self.put_within(item, Deadline::after(timeout))
    }

    /// Puts `item` without blocking the thread: the future completes once it is in (see the
    /// type's docs for a future dropped before that). [`PutError::Closed`] once the queue is
    /// closed, [`PutError::Encode`] if the item does not serialise. Works on every thread, the
    /// browser's main thread included.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(1)?;
    /// futures_executor::block_on(queue.put_async('z'))?;
    /// assert_eq!(queue.get()?, 'z');
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn put_async(&self, item: T) -> Result<(), PutError<T>> {
        if self.buffered() {
            return self.put_buffered(item, None);
        }
        let sending = match self.sending(&item, Deadline::NEVER) {
            Ok(sending) => sending.keeping(Arc::clone(&self.feeder)),
            Err(refused) => return Err(PutError::from_error(refused, item)),
        };
        drive::run_async(sending)
            .await
            .map_err(|refused| PutError::from_error(refused, item))
    }

    /// A put of `item` straight into the ring, to run with a driver of `drive`.
    pub(super) fn sending(&self, item: &T, deadline: Deadline) -> Result<Sending, Error> {
        if self.feeder.closing() {
            return Err(Error::Closed);
        }
        self.ring
            .sending(encode(item)?, deadline, self.ring.aux(), refuse_closed)
    }

    fn put_within(&self, item: T, deadline: Deadline) -> Result<(), PutError<T>> {
        if self.buffered() {
            return self.put_buffered(item, None);
        }
        self.put_direct(item, deadline)
    }

    /// A put that waits for room in the ring, whatever the bound (a [`SimpleQueue`]'s).
    ///
    /// [`SimpleQueue`]: super::SimpleQueue
    pub(super) fn put_direct(&self, item: T, deadline: Deadline) -> Result<(), PutError<T>> {
        self.sending(&item, deadline)
            .and_then(|mut sending| drive::run(&mut sending))
            .map_err(|refused| PutError::from_error(refused, item))
    }

    /// As [`put_direct`](Queue::put_direct), as a future.
    pub(super) async fn put_direct_async(&self, item: T) -> Result<(), PutError<T>> {
        let sending = match self.sending(&item, Deadline::NEVER) {
            Ok(sending) => sending.keeping(Arc::clone(&self.feeder)),
            Err(refused) => return Err(PutError::from_error(refused, item)),
        };
        drive::run_async(sending)
            .await
            .map_err(|refused| PutError::from_error(refused, item))
    }

    /// A put into an unbounded queue, which never waits (see the type's docs); `undo` runs if
    /// the item, once accepted, is never written (the queue closed or broken meanwhile).
    pub(super) fn put_buffered(
        &self,
        item: T,
        undo: Option<Box<dyn FnOnce() + Send>>,
    ) -> Result<(), PutError<T>> {
        let payload = match encode(&item) {
            Ok(payload) => payload,
            Err(refused) => return Err(PutError::from_error(refused, item)),
        };
        self.feeder
            .put(payload, undo)
            .map_err(|refused| PutError::from_error(refused, item))
    }

    /// Takes the item at the front, waiting for one.
    ///
    /// [`GetError::Closed`] once the queue is closed and drained, [`GetError::Decode`] if the item
    /// does not deserialise as `T` (it is taken nonetheless), [`GetError::WouldBlock`] on the
    /// browser's main thread.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(0)?;
    /// queue.put(vec![1, 2])?;
    /// assert_eq!(queue.get()?, [1, 2]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> Result<T, GetError> {
        self.get_within(Deadline::NEVER)
    }

    /// Takes the item at the front if there is one; [`GetError::Empty`] otherwise (also while
    /// another getter is taking an item).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::<u8>::new(0)?;
    /// assert_eq!(queue.try_get(), Err(amphi::GetError::Empty));
    /// queue.put(7)?;
    /// assert_eq!(queue.try_get(), Ok(7));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn try_get(&self) -> Result<T, GetError> {
        self.get_within(Deadline::NOW)
    }

    /// Takes the item at the front, or returns [`GetError::Timeout`] if none came within
    /// `timeout`. Once an item longer than the ring has begun, it is read to its end.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// let queue = amphi::process::Queue::<u8>::new(0)?;
    /// let outcome = queue.get_timeout(Duration::from_millis(5));
    /// assert_eq!(outcome, Err(amphi::GetError::Timeout));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get_timeout(&self, timeout: Duration) -> Result<T, GetError> {
        self.get_within(Deadline::after(timeout))
    }

    /// Takes the item at the front without blocking the thread, waiting for one (see the
    /// type's docs for a future dropped before it completes). [`GetError::Closed`] once the
    /// queue is closed and drained, [`GetError::Decode`] if the item is not a `T`. Works on every
    /// thread, the browser's main thread included.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(0)?;
    /// queue.put([1.5, 2.5])?;
    /// assert_eq!(futures_executor::block_on(queue.get_async())?, [1.5, 2.5]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub async fn get_async(&self) -> Result<T, GetError> {
        drive::run_async(
            self.receiving(Deadline::NEVER)
                .keeping(Arc::clone(&self.feeder)),
        )
        .await
        .and_then(|message| decode(&message))
        .map_err(GetError::from_error)
    }

    fn receiving(&self, deadline: Deadline) -> Receiving {
        self.ring
            .receiving(deadline, Error::Closed, Ending::WhenClosed)
    }

    fn get_within(&self, deadline: Deadline) -> Result<T, GetError> {
        drive::run(&mut self.receiving(deadline))
            .and_then(|message| decode(&message))
            .map_err(GetError::from_error)
    }
}

impl<T> Queue<T> {
    /// The number of items in the queue (a snapshot, counting items being put or taken).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(0)?;
    /// queue.put('a')?;
    /// queue.put('b')?;
    /// assert_eq!(queue.qsize(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn qsize(&self) -> usize {
        self.ring.used() as usize + self.feeder.buffered()
    }

    /// Whether the queue holds no items (a snapshot).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(0)?;
    /// assert!(queue.empty());
    /// queue.put(1.5)?;
    /// assert!(!queue.empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn empty(&self) -> bool {
        self.qsize() == 0
    }

    /// Whether the queue holds `maxsize` items (a snapshot; never for an unbounded queue,
    /// whose puts never wait).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(1)?;
    /// assert!(!queue.full());
    /// queue.put(())?;
    /// assert!(queue.full());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn full(&self) -> bool {
        let maxsize = self.maxsize();
        maxsize != 0 && self.qsize() >= maxsize
    }

    /// The bound on the number of items (0: none).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::<u8>::new(3)?;
    /// assert_eq!(queue.maxsize(), 3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn maxsize(&self) -> usize {
        self.ring.aux() as usize
    }

    /// Closes the queue for every process: puts fail with [`PutError::Closed`]; gets take the
    /// items left, then fail with [`GetError::Closed`]; sleepers wake up. An item being put
    /// right now is finished, and the items waiting in this process's buffer (an unbounded
    /// queue's, see the type's docs) go in first: the queue closes for the other processes
    /// once they are in, and at once for this one.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::new(0)?;
    /// queue.put(1)?;
    /// queue.close();
    /// assert_eq!(queue.put(2), Err(amphi::PutError::Closed(2)));
    /// assert_eq!(queue.get(), Ok(1));
    /// assert_eq!(queue.get(), Err(amphi::GetError::Closed));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn close(&self) {
        self.feeder.close();
    }

    /// Waits until the items this process put into an unbounded queue, and that still wait
    /// in its buffer, are in the queue (Python's `join_thread`, which Python allows only after
    /// `close`; here it may be called any time). [`Error::WouldBlock`] on the browser's main
    /// thread. A child process does this by itself when its target returns (see the type's
    /// docs); the main process does not, so call it before `main` returns if the consumers
    /// may lag.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::unbounded()?;
    /// queue.put(1)?;
    /// queue.join_thread()?;
    /// assert_eq!(queue.get()?, 1);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn join_thread(&self) -> Result<(), Error> {
        self.feeder.join(Deadline::NEVER, None)
    }

    /// Lets this process end without waiting for its buffered items to be flushed into the
    /// queue (Python's `cancel_join_thread`): a child whose target returned ends at once, and
    /// whatever still waits in its buffer is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::<u8>::unbounded()?;
    /// queue.cancel_join_thread();
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn cancel_join_thread(&self) {
        self.feeder.cancel_join();
    }

    /// Whether the queue was closed (by any process).
    ///
    /// # Examples
    ///
    /// ```
    /// let queue = amphi::process::Queue::<u8>::new(0)?;
    /// assert!(!queue.is_closed());
    /// queue.close();
    /// assert!(queue.is_closed());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.ring.flags() & WRITE_CLOSED != 0 || self.feeder.closing()
    }
}

impl<T> Clone for Queue<T> {
    /// Another handle to the same queue.
    fn clone(&self) -> Queue<T> {
        Queue {
            feeder: Arc::clone(&self.feeder),
            ring: self.ring,
            item: PhantomData,
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("qsize", &self.qsize())
            .field("maxsize", &self.maxsize())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Serialize for Queue<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.ring.handle().serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for Queue<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Queue<T>, D::Error> {
        let handle = Handle::deserialize(deserializer)?;
        let (object, ring) =
            Ring::open(handle, KIND_QUEUE, |_| true).map_err(serde::de::Error::custom)?;
        Ok(Queue::from_ring(object, ring))
    }
}

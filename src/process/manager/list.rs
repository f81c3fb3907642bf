//! [`ListProxy`]: Python's `ListProxy`, a list served by a manager.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use super::channel::Session;
use super::dict::ProxyIter;
use super::protocol::{Method, Request};
use super::proxy::{decode, deserialize_remote, encode, remote_calls, serialize_remote, Remote};
use crate::time::Deadline;
use crate::Error;

/// A list served by a [`Manager`](super::Manager): Python's `manager.list()`.
///
/// Items are serde values stored in the server as JSON. A proxy is a small token: clone it, or
/// pass it to children as (part of) a process's arguments, and every copy is the same list.
/// Indexes are Python's: negative ones count from the end, and one outside the list is
/// [`Error::IndexOutOfRange`]. Every call has blocking, `_timeout` and `_async` forms.
///
/// # Examples
///
/// ```
/// let manager = amphi::process::Manager::start()?;
/// let items = manager.list::<i32>()?;
/// items.extend(&[3, 1, 2])?;
/// items.push(&0)?;
/// assert_eq!(items.get(-1)?, 0);
/// assert_eq!(items.slice(Some(1), Some(3))?, [1, 2]);
/// items.sort()?;
/// assert_eq!(items.to_vec()?, [0, 1, 2, 3]);
/// assert!(matches!(items.get(9), Err(amphi::Error::IndexOutOfRange { index: 9, len: 4 })));
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct ListProxy<T> {
    remote: Arc<Remote>,
    item: PhantomData<fn(T) -> T>,
}

impl<T> ListProxy<T> {
    pub(crate) fn from_remote(remote: Arc<Remote>) -> ListProxy<T> {
        ListProxy {
            remote,
            item: PhantomData,
        }
    }

    fn session(&self) -> &Session {
        &self.remote.session
    }

    fn method(&self, method: Method) -> Request {
        self.remote.method(method)
    }
}

impl<T: Serialize + DeserializeOwned> ListProxy<T> {
    remote_calls! {
        /// Appends `value` (Python's `append`).
        fn push, push_timeout, push_async(&self, value: &T) -> () {
            request: self.method(Method::Push { value: encode(value)? }),
            reply: |reply| decode(reply)
        }

        /// Appends every item of `values`, in one call.
        fn extend, extend_timeout, extend_async(&self, values: &[T]) -> () {
            request: self.method(Method::Extend {
                values: values.iter().map(encode).collect::<Result<_, Error>>()?,
            }),
            reply: |reply| decode(reply)
        }

        /// The item at `index` (Python's `l[index]`).
        fn get, get_timeout, get_async(&self, index: i64) -> T {
            request: self.method(Method::Index { index }),
            reply: |reply| decode(reply)
        }

        /// Sets the item at `index` (Python's `l[index] = value`).
        fn set, set_timeout, set_async(&self, index: i64, value: &T) -> () {
            request: self.method(Method::SetIndex { index, value: encode(value)? }),
            reply: |reply| decode(reply)
        }

        /// The items from `start` to `stop` (Python's `l[start:stop]`, clamped; `None`: the
        /// list's start or end).
        fn slice, slice_timeout, slice_async(&self, start: Option<i64>, stop: Option<i64>) -> Vec<T> {
            request: self.method(Method::Slice { start, stop }),
            reply: |reply| decode(reply)
        }

        /// Every item (Python's `l[:]`).
        fn to_vec, to_vec_timeout, to_vec_async(&self) -> Vec<T> {
            request: self.method(Method::Values),
            reply: |reply| decode(reply)
        }

        /// The number of items.
        fn len, len_timeout, len_async(&self) -> usize {
            request: self.method(Method::Len),
            reply: |reply| decode(reply)
        }

        /// Whether the list is empty.
        fn is_empty, is_empty_timeout, is_empty_async(&self) -> bool {
            request: self.method(Method::Len),
            reply: |reply| Ok(decode::<usize>(reply)? == 0)
        }

        /// Whether an item equals `value` (Python's `value in l`).
        fn contains, contains_timeout, contains_async(&self, value: &T) -> bool {
            request: self.method(Method::Contains { key: encode(value)? }),
            reply: |reply| decode(reply)
        }

        /// Removes and returns the item at `index`, the last for `None` (Python's `pop`).
        fn pop, pop_timeout, pop_async(&self, index: Option<i64>) -> T {
            request: self.method(Method::Pop { index }),
            reply: |reply| decode(reply)
        }

        /// Inserts `value` before `index` (clamped to the list, as Python's `insert`).
        fn insert, insert_timeout, insert_async(&self, index: i64, value: &T) -> () {
            request: self.method(Method::InsertAt { index, value: encode(value)? }),
            reply: |reply| decode(reply)
        }

        /// Removes the first item equal to `value`; [`Error::KeyNotFound`] if there is none
        /// (Python's `ValueError`).
        fn remove, remove_timeout, remove_async(&self, value: &T) -> () {
            request: self.method(Method::RemoveValue { value: encode(value)? }),
            reply: |reply| decode(reply)
        }

        /// Removes every item.
        fn clear, clear_timeout, clear_async(&self) -> () {
            request: self.method(Method::Clear),
            reply: |reply| decode(reply)
        }
    }

    /// An iterator over the items, fetched in chunks; an item is [`Error::ChangedSize`] once
    /// the list changed size since the iteration began.
    ///
    /// # Examples
    ///
    /// ```
    /// let manager = amphi::process::Manager::start()?;
    /// let items = manager.list::<u8>()?;
    /// items.extend(&[1, 2, 3])?;
    /// assert_eq!(items.iter().collect::<Result<Vec<_>, _>>()?, [1, 2, 3]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn iter(&self) -> ProxyIter<T> {
        ProxyIter::new(Arc::clone(&self.remote))
    }
}

/// How many times a sort tries again when the list changed between its read and its write.
const SORT_TRIES: usize = 100;

#[derive(serde::Deserialize)]
struct Snapshot {
    version: u64,
    items: Vec<Value>,
}

impl<T: Serialize + DeserializeOwned + Ord> ListProxy<T> {
    /// Sorts the list (Python's `sort()`), by `T`'s order: the items are read, sorted here,
    /// and written back only if the list did not change meanwhile (else read again), so the
    /// sort is atomic with respect to other calls.
    pub fn sort(&self) -> Result<(), Error> {
        self.sort_until(Deadline::NEVER)
    }

    /// [`sort`](Self::sort), giving up after `timeout` with [`Error::Timeout`].
    pub fn sort_timeout(&self, timeout: Duration) -> Result<(), Error> {
        self.sort_until(Deadline::after(timeout))
    }

    /// [`sort`](Self::sort) without blocking the thread.
    pub async fn sort_async(&self) -> Result<(), Error> {
        for _ in 0..SORT_TRIES {
            let snapshot = self
                .session()
                .call_async(&self.method(Method::Snapshot))
                .await?;
            let replace = self.sorted(snapshot)?;
            if decode(self.session().call_async(&replace).await?)? {
                return Ok(());
            }
        }
        Err(sort_contended())
    }

    fn sort_until(&self, deadline: Deadline) -> Result<(), Error> {
        for _ in 0..SORT_TRIES {
            let snapshot = self
                .session()
                .call(&self.method(Method::Snapshot), deadline)?;
            let replace = self.sorted(snapshot)?;
            if decode(self.session().call(&replace, deadline)?)? {
                return Ok(());
            }
        }
        Err(sort_contended())
    }

    /// The request writing back the sorted items of `snapshot`.
    fn sorted(&self, snapshot: Value) -> Result<Request, Error> {
        let Snapshot { version, items } = decode(snapshot)?;
        let mut items = items
            .into_iter()
            .map(decode)
            .collect::<Result<Vec<T>, Error>>()?;
        items.sort();
        let values = items.iter().map(encode).collect::<Result<_, Error>>()?;
        Ok(self.method(Method::ReplaceIf { version, values }))
    }
}

fn sort_contended() -> Error {
    Error::Remote(format!(
        "the list changed during each of {SORT_TRIES} tries to sort it"
    ))
}

impl<T> Clone for ListProxy<T> {
    fn clone(&self) -> Self {
        ListProxy::from_remote(Arc::clone(&self.remote))
    }
}

impl<T> fmt::Debug for ListProxy<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ListProxy").field(&self.remote).finish()
    }
}

impl<T> Serialize for ListProxy<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_remote(&self.remote, serializer)
    }
}

impl<'de, T> Deserialize<'de> for ListProxy<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize_remote(deserializer).map(ListProxy::from_remote)
    }
}

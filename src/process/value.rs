//! [`Value`] and [`Array`]: numbers in the shared region, as Python's
//! `multiprocessing.Value` and `multiprocessing.Array`.
//!
//! The element types are Python's typecodes: `b B h H i I l L q Q f d` are
//! `i8 u8 i16 u16 i32 u32 i64 u64 i64 u64 f32 f64` ([`Number`]; `l`/`L` are 64-bit, as on
//! 64-bit Linux). Every element is stored as an atomic of its own width (floats as their
//! bits), so `get` and `set` never tear, and the integer types ([`Integer`]) have atomic
//! read-modify-write operations (`fetch_add`, ...), which need no lock. A compound update
//! (`v.set(v.get() + 1)`) does: hold [`get_lock`](Value::get_lock)'s lock around it, as in
//! Python.
//!
//! Layout: the object's body is the element (a value, 8 bytes) or the elements packed at their
//! natural alignment (an array; the header's aux is the length). The kind records the element
//! type, so a handle opens only as the type it was made with. The attached lock is a
//! [`Lock`] object of its own.

use crate::sys::region_atomics::{
    AtomicI16, AtomicI32, AtomicI64, AtomicI8, AtomicU16, AtomicU32, AtomicU64, AtomicU8,
};
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::lock::Lock;
use super::region::Atom;
use super::region::{Handle, Object};
use crate::sync::atomic::Ordering;
use crate::Error;

const KIND_VALUE: u32 = 0x100;
const KIND_ARRAY: u32 = 0x200;

mod sealed {
    use super::Atom;
    use crate::sync::atomic::Ordering;

    /// How a number lives in the region (crate-private, hence the sealed [`super::Number`]).
    #[allow(unreachable_pub)]
    pub trait Element: Copy {
        /// Python's typecode.
        const TYPECODE: char;
        /// The atomic it is stored in.
        type Atom: Atom;
        fn load(atom: &Self::Atom, order: Ordering) -> Self;
        fn store(atom: &Self::Atom, value: Self, order: Ordering);
    }

    /// Atomic read-modify-write operations of the integer types.
    #[allow(unreachable_pub)]
    pub trait IntegerOps: Element {
        fn fetch_add(atom: &Self::Atom, value: Self) -> Self;
        fn fetch_sub(atom: &Self::Atom, value: Self) -> Self;
        fn fetch_and(atom: &Self::Atom, value: Self) -> Self;
        fn fetch_or(atom: &Self::Atom, value: Self) -> Self;
        fn fetch_xor(atom: &Self::Atom, value: Self) -> Self;
        fn swap(atom: &Self::Atom, value: Self) -> Self;
        fn compare_exchange(atom: &Self::Atom, current: Self, new: Self) -> Result<Self, Self>;
    }
}

/// A number type that can live in shared memory: Python's typecodes `b B h H i I l L q Q f d`.
///
/// Sealed: implemented for `i8`, `u8`, `i16`, `u16`, `i32`, `u32`, `i64`, `u64`, `f32`, `f64`.
///
/// # Examples
///
/// ```
/// use amphi::process::Number;
/// assert_eq!(<f64 as Number>::typecode(), 'd');
/// assert_eq!(<u8 as Number>::typecode(), 'B');
/// ```
pub trait Number: sealed::Element + fmt::Debug + PartialEq + Send + Sync + 'static {
    /// Python's typecode of this type.
    ///
    /// # Examples
    ///
    /// ```
    /// use amphi::process::Number;
    /// assert_eq!(<i32 as Number>::typecode(), 'i');
    /// ```
    fn typecode() -> char {
        Self::TYPECODE
    }
}

/// The integer [`Number`]s, which have atomic operations in shared memory.
///
/// # Examples
///
/// ```
/// fn bump<T: amphi::process::Integer>(value: &amphi::process::Value<T>, by: T) -> T {
///     value.fetch_add(by)
/// }
/// let value = amphi::process::Value::new(1u16)?;
/// assert_eq!(bump(&value, 2), 1);
/// assert_eq!(value.get(), 3);
/// # Ok::<(), amphi::Error>(())
/// ```
pub trait Integer: Number + sealed::IntegerOps {}

/// A number's position among the typecodes, recorded in the kind of its objects.
fn type_index<T: Number>() -> u32 {
    "bBhHiIqQfd"
        .find(T::TYPECODE)
        .map_or(0xff, |index| index as u32)
}

macro_rules! integers {
    ($($ty:ty => $atom:ty, $code:literal;)*) => {$(
        impl sealed::Element for $ty {
            const TYPECODE: char = $code;
            type Atom = $atom;
            fn load(atom: &$atom, order: Ordering) -> $ty {
                atom.load(order)
            }
            fn store(atom: &$atom, value: $ty, order: Ordering) {
                atom.store(value, order)
            }
        }
        impl sealed::IntegerOps for $ty {
            fn fetch_add(atom: &$atom, value: $ty) -> $ty {
                atom.fetch_add(value, Ordering::AcqRel)
            }
            fn fetch_sub(atom: &$atom, value: $ty) -> $ty {
                atom.fetch_sub(value, Ordering::AcqRel)
            }
            fn fetch_and(atom: &$atom, value: $ty) -> $ty {
                atom.fetch_and(value, Ordering::AcqRel)
            }
            fn fetch_or(atom: &$atom, value: $ty) -> $ty {
                atom.fetch_or(value, Ordering::AcqRel)
            }
            fn fetch_xor(atom: &$atom, value: $ty) -> $ty {
                atom.fetch_xor(value, Ordering::AcqRel)
            }
            fn swap(atom: &$atom, value: $ty) -> $ty {
                atom.swap(value, Ordering::AcqRel)
            }
            fn compare_exchange(atom: &$atom, current: $ty, new: $ty) -> Result<$ty, $ty> {
                atom.compare_exchange(current, new, Ordering::AcqRel, Ordering::Acquire)
            }
        }
        impl Number for $ty {}
        impl Integer for $ty {}
    )*};
}
integers! {
    i8 => AtomicI8, 'b';
    u8 => AtomicU8, 'B';
    i16 => AtomicI16, 'h';
    u16 => AtomicU16, 'H';
    i32 => AtomicI32, 'i';
    u32 => AtomicU32, 'I';
    i64 => AtomicI64, 'q';
    u64 => AtomicU64, 'Q';
}

macro_rules! floats {
    ($($ty:ty => $atom:ty, $code:literal;)*) => {$(
        impl sealed::Element for $ty {
            const TYPECODE: char = $code;
            type Atom = $atom;
            fn load(atom: &$atom, order: Ordering) -> $ty {
                <$ty>::from_bits(atom.load(order))
            }
            fn store(atom: &$atom, value: $ty, order: Ordering) {
                atom.store(value.to_bits(), order)
            }
        }
        impl Number for $ty {}
    )*};
}
floats! {
    f32 => AtomicU32, 'f';
    f64 => AtomicU64, 'd';
}

/// What a value or an array travels as: its object and its lock, if any.
#[derive(Serialize, Deserialize)]
struct WithLock {
    data: Handle,
    lock: Option<Lock>,
}

/// One number in shared memory, as Python's `multiprocessing.Value`.
///
/// Created with a [`Lock`] ([`get_lock`](Value::get_lock)) unless made by
/// [`new_without_lock`](Value::new_without_lock). A handle: pass it to children as an
/// argument; every copy reads and writes the same number.
///
/// # Examples
///
/// ```
/// use amphi::process::{Process, Value};
///
/// fn add_ten(counter: Value<i64>) {
///     for _ in 0..10 {
///         let _held = counter.get_lock().unwrap().acquire().unwrap();
///         counter.set(counter.get() + 1);
///     }
/// }
///
/// let counter = Value::new(0i64)?;
/// let child = Process::new(add_ten, counter.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(counter.get(), 10);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Value<T: Number> {
    object: Object,
    lock: Option<Lock>,
    kind: PhantomData<T>,
}

impl<T: Number> Value<T> {
    /// A value holding `initial`, with a lock of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(2.5f64)?;
    /// assert_eq!(value.get(), 2.5);
    /// assert!(value.get_lock().is_some());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(initial: T) -> Result<Value<T>, Error> {
        let lock = Lock::new()?;
        Value::create(initial, Some(lock))
    }

    /// A value holding `initial`, without a lock (Python's `lock=False`).
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new_without_lock(7u8)?;
    /// assert_eq!(value.get(), 7);
    /// assert!(value.get_lock().is_none());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new_without_lock(initial: T) -> Result<Value<T>, Error> {
        Value::create(initial, None)
    }

    fn create(initial: T, lock: Option<Lock>) -> Result<Value<T>, Error> {
        let object = Object::create(KIND_VALUE | type_index::<T>(), 0, 8)?;
        let value = Value {
            object,
            lock,
            kind: PhantomData,
        };
        value.set(initial);
        Ok(value)
    }

    fn atom(&self) -> &'static T::Atom {
        self.object.atom(0)
    }

    /// The number now.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(-3i32)?;
    /// assert_eq!(value.get(), -3);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self) -> T {
        T::load(self.atom(), Ordering::Acquire)
    }

    /// Replaces the number.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(0.0f32)?;
    /// value.set(1.5);
    /// assert_eq!(value.get(), 1.5);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn set(&self, value: T) {
        T::store(self.atom(), value, Ordering::Release);
    }

    /// The lock created with the value (`None` for [`new_without_lock`](Value::new_without_lock)).
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(1u32)?;
    /// let lock = value.get_lock().expect("made with a lock");
    /// let _held = lock.acquire()?;
    /// value.set(value.get() * 2);
    /// assert_eq!(value.get(), 2);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get_lock(&self) -> Option<&Lock> {
        self.lock.as_ref()
    }
}

impl<T: Integer> Value<T> {
    /// Adds `value` atomically (wrapping); returns the previous number.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(5i64)?;
    /// assert_eq!(value.fetch_add(2), 5);
    /// assert_eq!(value.get(), 7);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn fetch_add(&self, value: T) -> T {
        T::fetch_add(self.atom(), value)
    }

    /// Subtracts `value` atomically (wrapping); returns the previous number.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(5u8)?;
    /// assert_eq!(value.fetch_sub(6), 5);
    /// assert_eq!(value.get(), 255);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn fetch_sub(&self, value: T) -> T {
        T::fetch_sub(self.atom(), value)
    }

    /// Bitwise and, atomically; returns the previous number.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(0b1100u8)?;
    /// assert_eq!(value.fetch_and(0b1010), 0b1100);
    /// assert_eq!(value.get(), 0b1000);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn fetch_and(&self, value: T) -> T {
        T::fetch_and(self.atom(), value)
    }

    /// Bitwise or, atomically; returns the previous number.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(0b0100u8)?;
    /// assert_eq!(value.fetch_or(0b0001), 0b0100);
    /// assert_eq!(value.get(), 0b0101);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn fetch_or(&self, value: T) -> T {
        T::fetch_or(self.atom(), value)
    }

    /// Bitwise exclusive or, atomically; returns the previous number.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(0b0110u8)?;
    /// assert_eq!(value.fetch_xor(0b0011), 0b0110);
    /// assert_eq!(value.get(), 0b0101);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn fetch_xor(&self, value: T) -> T {
        T::fetch_xor(self.atom(), value)
    }

    /// Replaces the number atomically; returns the previous one.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(1i16)?;
    /// assert_eq!(value.swap(9), 1);
    /// assert_eq!(value.get(), 9);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn swap(&self, value: T) -> T {
        T::swap(self.atom(), value)
    }

    /// Stores `new` if the number is `current`: `Ok(current)`, or `Err(what it was)`.
    ///
    /// # Examples
    ///
    /// ```
    /// let value = amphi::process::Value::new(1u32)?;
    /// assert_eq!(value.compare_exchange(1, 2), Ok(1));
    /// assert_eq!(value.compare_exchange(1, 3), Err(2));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn compare_exchange(&self, current: T, new: T) -> Result<T, T> {
        T::compare_exchange(self.atom(), current, new)
    }
}

impl<T: Number> Clone for Value<T> {
    /// Another handle to the same number (and lock).
    fn clone(&self) -> Value<T> {
        Value {
            object: self.object.clone(),
            lock: self.lock.clone(),
            kind: PhantomData,
        }
    }
}

impl<T: Number> fmt::Debug for Value<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Value")
            .field("value", &self.get())
            .field("lock", &self.lock.is_some())
            .finish()
    }
}

impl<T: Number> Serialize for Value<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WithLock {
            data: self.object.handle(),
            lock: self.lock.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de, T: Number> Deserialize<'de> for Value<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value<T>, D::Error> {
        let handle = WithLock::deserialize(deserializer)?;
        let object = Object::open(handle.data, KIND_VALUE | type_index::<T>(), |aux| {
            (aux == 0).then_some(8)
        })
        .map_err(serde::de::Error::custom)?;
        Ok(Value {
            object,
            lock: handle.lock,
            kind: PhantomData,
        })
    }
}

/// A fixed-length array of numbers in shared memory, as Python's `multiprocessing.Array`.
///
/// Created with a [`Lock`] ([`get_lock`](Array::get_lock)) unless made by
/// [`new_without_lock`](Array::new_without_lock). Each element is read and written
/// atomically; the integer types also have [`fetch_add`](Array::fetch_add).
///
/// # Examples
///
/// ```
/// use amphi::process::{Array, Process};
///
/// fn double_all(numbers: Array<f64>) {
///     for i in 0..numbers.len() {
///         numbers.set(i, numbers.get(i).unwrap() * 2.0).unwrap();
///     }
/// }
///
/// let numbers = Array::new(&[1.0, 2.5, -4.0])?;
/// let child = Process::new(double_all, numbers.clone());
/// child.start()?;
/// child.join()?;
/// assert_eq!(numbers.to_vec(), [2.0, 5.0, -8.0]);
/// # Ok::<(), amphi::Error>(())
/// ```
pub struct Array<T: Number> {
    object: Object,
    len: usize,
    lock: Option<Lock>,
    kind: PhantomData<T>,
}

fn body_len<T: Number>(len: u32) -> Option<usize> {
    (len as usize).checked_mul(<T::Atom as Atom>::SIZE)
}

impl<T: Number> Array<T> {
    /// An array holding a copy of `items`, with a lock of its own.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[1u8, 2, 3])?;
    /// assert_eq!(array.len(), 3);
    /// assert!(array.get_lock().is_some());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new(items: &[T]) -> Result<Array<T>, Error> {
        let lock = Lock::new()?;
        Array::create(items, Some(lock))
    }

    /// An array holding a copy of `items`, without a lock (Python's `lock=False`).
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new_without_lock(&[0i32; 4])?;
    /// assert_eq!(array.to_vec(), [0, 0, 0, 0]);
    /// assert!(array.get_lock().is_none());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn new_without_lock(items: &[T]) -> Result<Array<T>, Error> {
        Array::create(items, None)
    }

    /// An array of `len` zeros, with a lock of its own (Python's `Array('i', 10)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::<i32>::zeroed(4)?;
    /// assert_eq!(array.to_vec(), [0, 0, 0, 0]);
    /// assert!(array.get_lock().is_some());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn zeroed(len: usize) -> Result<Array<T>, Error> {
        let lock = Lock::new()?;
        Array::allocate(len, Some(lock))
    }

    /// An array of `len` zeros, without a lock (Python's `Array('d', 10, lock=False)`).
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::<f64>::zeroed_without_lock(3)?;
    /// assert_eq!(array.to_vec(), [0.0, 0.0, 0.0]);
    /// assert!(array.get_lock().is_none());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn zeroed_without_lock(len: usize) -> Result<Array<T>, Error> {
        Array::allocate(len, None)
    }

    fn create(items: &[T], lock: Option<Lock>) -> Result<Array<T>, Error> {
        let array = Array::allocate(items.len(), lock)?;
        for (index, &item) in items.iter().enumerate() {
            T::store(array.atom(index), item, Ordering::Relaxed);
        }
        std::sync::atomic::fence(Ordering::Release);
        Ok(array)
    }

    /// An array of `len` elements in a fresh object, whose body the region hands out zeroed
    /// (all-zero bits are 0 for every [`Number`], 0.0 for the floats).
    fn allocate(len: usize, lock: Option<Lock>) -> Result<Array<T>, Error> {
        let too_long = || Error::InvalidArgument(format!("{len} items is too many"));
        let aux = u32::try_from(len).map_err(|_| too_long())?;
        let body = body_len::<T>(aux).ok_or_else(too_long)?;
        let object = Object::create(KIND_ARRAY | type_index::<T>(), aux, body)?;
        Ok(Array {
            object,
            len,
            lock,
            kind: PhantomData,
        })
    }

    fn atom(&self, index: usize) -> &'static T::Atom {
        self.object.atom(index * <T::Atom as Atom>::SIZE)
    }

    /// The number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[0.5f32; 8])?;
    /// assert_eq!(array.len(), 8);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the array has no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::<u64>::new(&[])?;
    /// assert!(array.is_empty());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Element `index`, or `None` past the end.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[10i8, 20])?;
    /// assert_eq!(array.get(1), Some(20));
    /// assert_eq!(array.get(2), None);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get(&self, index: usize) -> Option<T> {
        (index < self.len).then(|| T::load(self.atom(index), Ordering::Acquire))
    }

    /// Replaces element `index`; [`Error::InvalidArgument`] past the end.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[0u16; 2])?;
    /// array.set(0, 7)?;
    /// assert_eq!(array.to_vec(), [7, 0]);
    /// assert!(array.set(2, 1).is_err());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn set(&self, index: usize, value: T) -> Result<(), Error> {
        self.check(index)?;
        T::store(self.atom(index), value, Ordering::Release);
        Ok(())
    }

    fn check(&self, index: usize) -> Result<(), Error> {
        if index < self.len {
            return Ok(());
        }
        Err(Error::InvalidArgument(format!(
            "index {index} out of range for an array of {}",
            self.len
        )))
    }

    /// Copies elements `start..start + out.len()` into `out` (Python's `array[start:stop]`),
    /// each read atomically; the whole is a snapshot only under the lock.
    /// [`Error::InvalidArgument`] if the range does not lie in the array (then `out` is
    /// unchanged).
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[1u8, 2, 3, 4, 5])?;
    /// let mut middle = [0u8; 3];
    /// array.copy_to_slice(1, &mut middle)?;
    /// assert_eq!(middle, [2, 3, 4]);
    /// assert!(array.copy_to_slice(3, &mut middle).is_err(), "5 elements, not 6");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn copy_to_slice(&self, start: usize, out: &mut [T]) -> Result<(), Error> {
        self.check_range(start, out.len())?;
        for (offset, slot) in out.iter_mut().enumerate() {
            *slot = T::load(self.atom(start + offset), Ordering::Acquire);
        }
        Ok(())
    }

    /// Writes `items` over elements `start..start + items.len()` (Python's
    /// `array[start:stop] = items`), each written atomically; other processes see the whole
    /// only under the lock. [`Error::InvalidArgument`] if the range does not lie in the array
    /// (then nothing is written).
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::<i16>::zeroed(5)?;
    /// array.copy_from_slice(2, &[7, 8])?;
    /// assert_eq!(array.to_vec(), [0, 0, 7, 8, 0]);
    /// assert!(array.copy_from_slice(4, &[1, 2]).is_err(), "one element would fall off");
    /// assert_eq!(array.to_vec(), [0, 0, 7, 8, 0], "nothing was written");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn copy_from_slice(&self, start: usize, items: &[T]) -> Result<(), Error> {
        self.check_range(start, items.len())?;
        for (offset, &item) in items.iter().enumerate() {
            T::store(self.atom(start + offset), item, Ordering::Release);
        }
        Ok(())
    }

    /// A copy of the elements in `range` (Python's slicing, without steps or negative
    /// indices). [`Error::InvalidArgument`] if `range` does not lie in the array or runs
    /// backwards.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[10u32, 20, 30, 40])?;
    /// assert_eq!(array.get_range(1..3)?, [20, 30]);
    /// assert_eq!(array.get_range(2..)?, [30, 40]);
    /// assert_eq!(array.get_range(..)?, array.to_vec());
    /// assert!(array.get_range(3..5).is_err());
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get_range(&self, range: impl RangeBounds<usize>) -> Result<Vec<T>, Error> {
        let (start, len) = self.bounds(range)?;
        Ok((start..start + len)
            .map(|index| T::load(self.atom(index), Ordering::Acquire))
            .collect())
    }

    /// `range` as (start, length), checked to lie in the array.
    fn bounds(&self, range: impl RangeBounds<usize>) -> Result<(usize, usize), Error> {
        let start = match range.start_bound() {
            Bound::Included(&start) => Some(start),
            Bound::Excluded(&start) => start.checked_add(1),
            Bound::Unbounded => Some(0),
        };
        let end = match range.end_bound() {
            Bound::Included(&end) => end.checked_add(1),
            Bound::Excluded(&end) => Some(end),
            Bound::Unbounded => Some(self.len),
        };
        match (start, end) {
            (Some(start), Some(end)) if start <= end => {
                self.check_range(start, end - start)?;
                Ok((start, end - start))
            }
            _ => Err(Error::InvalidArgument(format!(
                "the range {:?}..{:?} runs backwards or overflows",
                range.start_bound(),
                range.end_bound()
            ))),
        }
    }

    /// Checks that `start..start + len` lies in the array.
    fn check_range(&self, start: usize, len: usize) -> Result<(), Error> {
        match start.checked_add(len) {
            Some(end) if end <= self.len => Ok(()),
            _ => Err(Error::InvalidArgument(format!(
                "{len} elements from index {start} do not fit in an array of {}",
                self.len
            ))),
        }
    }

    /// A copy of every element (each read atomically; the whole is a snapshot only under the
    /// lock).
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[1i64, 2, 3])?;
    /// assert_eq!(array.to_vec(), vec![1, 2, 3]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn to_vec(&self) -> Vec<T> {
        (0..self.len)
            .map(|index| T::load(self.atom(index), Ordering::Acquire))
            .collect()
    }

    /// The lock created with the array (`None` for
    /// [`new_without_lock`](Array::new_without_lock)).
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[1u32, 2])?;
    /// let _held = array.get_lock().expect("made with a lock").acquire()?;
    /// array.set(0, array.get(0).unwrap() + array.get(1).unwrap())?;
    /// assert_eq!(array.get(0), Some(3));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn get_lock(&self) -> Option<&Lock> {
        self.lock.as_ref()
    }
}

impl<T: Integer> Array<T> {
    /// Adds `value` to element `index` atomically (wrapping); returns the previous element.
    /// [`Error::InvalidArgument`] past the end.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[1u32, 2])?;
    /// assert_eq!(array.fetch_add(1, 5)?, 2);
    /// assert_eq!(array.to_vec(), [1, 7]);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn fetch_add(&self, index: usize, value: T) -> Result<T, Error> {
        self.check(index)?;
        Ok(T::fetch_add(self.atom(index), value))
    }

    /// Subtracts `value` from element `index` atomically (wrapping); returns the previous
    /// element. [`Error::InvalidArgument`] past the end.
    ///
    /// # Examples
    ///
    /// ```
    /// let array = amphi::process::Array::new(&[10i32])?;
    /// assert_eq!(array.fetch_sub(0, 4)?, 10);
    /// assert_eq!(array.get(0), Some(6));
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn fetch_sub(&self, index: usize, value: T) -> Result<T, Error> {
        self.check(index)?;
        Ok(T::fetch_sub(self.atom(index), value))
    }
}

impl<T: Number> Clone for Array<T> {
    /// Another handle to the same array (and lock).
    fn clone(&self) -> Array<T> {
        Array {
            object: self.object.clone(),
            len: self.len,
            lock: self.lock.clone(),
            kind: PhantomData,
        }
    }
}

impl<T: Number> fmt::Debug for Array<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Array")
            .field("items", &self.to_vec())
            .field("lock", &self.lock.is_some())
            .finish()
    }
}

impl<T: Number> Serialize for Array<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WithLock {
            data: self.object.handle(),
            lock: self.lock.clone(),
        }
        .serialize(serializer)
    }
}

impl<'de, T: Number> Deserialize<'de> for Array<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Array<T>, D::Error> {
        let handle = WithLock::deserialize(deserializer)?;
        let object = Object::open(handle.data, KIND_ARRAY | type_index::<T>(), body_len::<T>)
            .map_err(serde::de::Error::custom)?;
        Ok(Array {
            len: object.aux() as usize,
            object,
            lock: handle.lock,
            kind: PhantomData,
        })
    }
}

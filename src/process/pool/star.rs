//! [`StarArgs`]: the tuples whose fields the process pool's `starmap` passes as a plain
//! function's arguments, as Python's `starmap` calls `func(*args)`.
//!
//! A worker process finds the function by its number in the executable, so it must be a
//! function pointer, `fn(A, B) -> R`, not a closure; the tuple type names the pointer type
//! (`<(A, B) as StarArgs>::Fn<R>` is `fn(A, B) -> R`), so a function item passed to
//! `starmap` becomes that pointer as a plain `fn(A) -> R` does for `map`.

mod sealed {
    /// Only the tuples below are [`StarArgs`](super::StarArgs).
    pub trait Sealed {}
}

/// A tuple of one to six arguments, and the plain function that takes them (see
/// [`Pool::starmap`](super::Pool::starmap)). Sealed: implemented for `(A,)` to
/// `(A, B, C, D, E, G)`.
///
/// # Examples
///
/// ```
/// use amphi::process::StarArgs;
/// fn add(a: i32, b: i32) -> i32 {
///     a + b
/// }
/// let add: <(i32, i32) as StarArgs>::Fn<i32> = add;
/// assert_eq!(<(i32, i32)>::call_star(add, (2, 3)), 5);
/// ```
pub trait StarArgs: Sized + sealed::Sealed {
    /// The plain function of these arguments returning `R`: `fn(A, B) -> R` for `(A, B)`.
    type Fn<R>: Copy;

    /// Calls `f` with the tuple's fields.
    fn call_star<R>(f: Self::Fn<R>, args: Self) -> R;

    /// The function's address, which the pool numbers for its workers.
    #[doc(hidden)]
    fn address<R>(f: Self::Fn<R>) -> usize;

    /// The function at `address`.
    ///
    /// # Safety
    ///
    /// `address` must be that of a `Self::Fn<R>` (as [`address`](StarArgs::address) gave it,
    /// in a process of the same executable).
    #[doc(hidden)]
    unsafe fn from_address<R>(address: usize) -> Self::Fn<R>;
}

macro_rules! star_args {
    ($($arg:ident),+) => {
        impl<$($arg),+> sealed::Sealed for ($($arg,)+) {}

        impl<$($arg),+> StarArgs for ($($arg,)+) {
            type Fn<R> = fn($($arg),+) -> R;

            #[allow(non_snake_case)]
            fn call_star<R>(f: fn($($arg),+) -> R, ($($arg,)+): ($($arg,)+)) -> R {
                f($($arg),+)
            }

            fn address<R>(f: fn($($arg),+) -> R) -> usize {
                f as usize
            }

            unsafe fn from_address<R>(address: usize) -> fn($($arg),+) -> R {
                // SAFETY: the caller guarantees `address` is that of a `fn($($arg),+) -> R`;
                // a function pointer and `usize` have the same size.
                unsafe { std::mem::transmute::<usize, fn($($arg),+) -> R>(address) }
            }
        }
    };
}

star_args!(A);
star_args!(A, B);
star_args!(A, B, C);
star_args!(A, B, C, D);
star_args!(A, B, C, D, E);
star_args!(A, B, C, D, E, G);

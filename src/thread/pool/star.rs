//! [`StarFn`]: a function called with the fields of a tuple as its arguments, as Python's
//! `starmap` calls `func(*args)`.

/// A function of up to six arguments, called with a tuple of them (see
/// [`Pool::starmap`](crate::ThreadPool::starmap)). Implemented for every `Fn(A, B, ...) -> R`;
/// a closure's parameter types must be written out for Rust to pick the arity.
///
/// # Examples
///
/// ```
/// use amphi::thread::StarFn;
/// let add = |a: i32, b: i32| a + b;
/// assert_eq!(add.call_star((2, 3)), 5);
/// ```
pub trait StarFn<Args, R> {
    /// Calls the function with the tuple's fields.
    fn call_star(&self, args: Args) -> R;
}

macro_rules! star_fn {
    ($($arg:ident),+) => {
        impl<F, R, $($arg),+> StarFn<($($arg,)+), R> for F
        where
            F: Fn($($arg),+) -> R,
        {
            #[allow(non_snake_case)]
            fn call_star(&self, ($($arg,)+): ($($arg,)+)) -> R {
                self($($arg),+)
            }
        }
    };
}

star_fn!(A);
star_fn!(A, B);
star_fn!(A, B, C);
star_fn!(A, B, C, D);
star_fn!(A, B, C, D, E);
star_fn!(A, B, C, D, E, G);

//! [`Builder`]: a process's name and daemon flag, set before it is created (the keyword
//! arguments of Python's `Process(...)`).

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::Process;
use crate::Error;

/// Configures a process before it is created.
///
/// # Examples
///
/// ```
/// use amphi::process::Builder;
///
/// fn double(x: u32) -> u32 {
///     2 * x
/// }
///
/// let child = Builder::new().name("doubler").build(double, 21);
/// assert_eq!(child.name(), "doubler");
/// child.start()?;
/// assert_eq!(child.join()?, 42);
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Default, Clone)]
pub struct Builder {
    name: Option<String>,
    daemon: bool,
}

impl Builder {
    /// A builder with Python's defaults: named `Process-N`, not daemonic.
    ///
    /// # Examples
    ///
    /// ```
    /// fn id(x: String) -> String {
    ///     x
    /// }
    /// let child = amphi::process::Builder::new().build(id, "echo".to_owned());
    /// assert!(child.name().starts_with("Process-"));
    /// assert!(!child.daemon());
    /// ```
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the process (its `current_process().name`).
    ///
    /// # Examples
    ///
    /// ```
    /// fn my_name(_: ()) -> String {
    ///     amphi::process::current_process().name
    /// }
    /// let child = amphi::process::Builder::new().name("namer").build(my_name, ());
    /// child.start()?;
    /// assert_eq!(child.join()?, "namer");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Makes the process daemonic: it is killed when its parent ends, however the parent ends
    /// (natively by `PR_SET_PDEATHSIG`, also when the parent is killed), and it may not start
    /// children of its own (as in Python).
    ///
    /// # Examples
    ///
    /// ```
    /// fn is_daemon(_: ()) -> bool {
    ///     amphi::process::current_process().daemon
    /// }
    /// let child = amphi::process::Builder::new().daemon(true).build(is_daemon, ());
    /// assert!(child.daemon());
    /// child.start()?;
    /// assert!(child.join()?);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn daemon(mut self, daemon: bool) -> Builder {
        self.daemon = daemon;
        self
    }

    /// Creates the process, not started yet, that will run `target(args)` in a child.
    ///
    /// `target` must be a plain function (no captures) of this program, not of a shared
    /// library: the child finds it in its own copy of the executable. `args` is serialised now;
    /// an error doing so is reported by [`start`](Process::start).
    ///
    /// # Examples
    ///
    /// ```
    /// fn total(numbers: Vec<u64>) -> u64 {
    ///     numbers.iter().sum()
    /// }
    /// let child = amphi::process::Builder::new().build(total, vec![1, 2, 3]);
    /// assert!(!child.is_alive(), "not started yet");
    /// child.start()?;
    /// assert_eq!(child.join()?, 6);
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn build<A, R>(self, target: fn(A) -> R, args: A) -> Process<R>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        Process::create(self.name, self.daemon, target, args)
    }

    /// Creates the process and starts it.
    ///
    /// # Examples
    ///
    /// ```
    /// fn shout(text: String) -> String {
    ///     text.to_uppercase()
    /// }
    /// let child = amphi::process::Builder::new().start(shout, "hi".to_owned())?;
    /// assert_eq!(child.join()?, "HI");
    /// # Ok::<(), amphi::Error>(())
    /// ```
    pub fn start<A, R>(self, target: fn(A) -> R, args: A) -> Result<Process<R>, Error>
    where
        A: Serialize + DeserializeOwned,
        R: Serialize + DeserializeOwned,
    {
        let process = self.build(target, args);
        process.start()?;
        Ok(process)
    }
}

//! What a pool's worker is asked to run ([`Call`]) and what it answers ([`Reply`]).
//!
//! A task is a plain function of this program, `fn(A) -> R`, and its argument: the parent
//! numbers the function and an entry monomorphised for `(A, R)` with
//! [`crate::sys::code_ref`] (numbers every process of the tree reads alike) and serialises the
//! argument as JSON; the worker turns the numbers back into the entry and the function, and
//! the entry deserialises the argument, calls the function under `catch_task` (a panic is the
//! task's error, the worker goes on) and serialises the result.
//!
//! Each argument and result is serialised once, and parsed once: a task's message is written
//! in the parent straight to the bytes its worker's pipe carries ([`Code::message`]), and the
//! argument and the result travel in their messages as raw JSON text ([`RawValue`]), rather
//! than parsed into a [`serde_json::Value`] and written out again on the way: the worker reads
//! the argument where its message holds it ([`CallRef`]), and writes a result straight into
//! its `Done` message ([`Answer::Returned`]). Every step that can fail is
//! an error for that task only: an argument that does not serialise ([`Error::Encode`], in the
//! parent, before anything is sent) or deserialise ([`Error::Decode`], in the worker), a
//! result that does not serialise (`Encode`, in the worker) or deserialise (`Decode`, in the
//! parent), a panic ([`Error::Panicked`], with the worker's name, the message and the
//! location).
//!
//! Three entries exist: `run_one` calls the function once (`apply`, the initializer),
//! `run_chunk` maps it over a list of arguments (one chunk of a `map` or an `imap`), failing
//! the chunk at its first panic, as the thread pool does, and `run_star_chunk` does the same
//! for `starmap`, calling a function of several arguments with each tuple's fields.
//!
//! A task's message also carries its submission id, with which the parent's `pool.submit`
//! span and the worker's `pool.task` span draw a flow arrow in a trace (feature `trace`): one
//! id per task, so the chunks of a `map` have one each. Without the feature the id is 0 and is
//! not written at all.

use std::any::type_name;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::star::StarArgs;
use super::worker::ToWorker;
use crate::error::PanicReport;
use crate::process::child;
use crate::Error;

/// What the worker calls: an entry, the function it calls, and the argument (JSON text).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Call {
    entry: u64,
    target: u64,
    args: Box<RawValue>,
}

/// A [`Call`] as the worker reads it from a task's message, the argument borrowed from the
/// message, with the task's submission id (0 when absent).
#[derive(Debug, Deserialize)]
pub(super) struct CallRef<'a> {
    entry: u64,
    target: u64,
    #[serde(borrow)]
    args: &'a RawValue,
    /// The id linking the task's run to its submission in a trace (see [`Code::message`]).
    #[serde(default)]
    #[cfg_attr(not(feature = "trace"), allow(dead_code))]
    pub(super) submission: u64,
}

/// A [`Call`] as the parent writes it, the argument serialised straight into the message: the
/// same fields, so the worker reads it as a `Call`, and the submission id, written only when
/// it is not 0 (without the feature `trace` the message is the call alone).
#[derive(Serialize)]
struct Outgoing<'a, T: ?Sized> {
    entry: u64,
    target: u64,
    args: &'a T,
    #[serde(skip_serializing_if = "is_zero")]
    submission: u64,
}

/// Whether a submission id is absent (0).
fn is_zero(submission: &u64) -> bool {
    *submission == 0
}

/// How a call ended in the worker.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Reply {
    /// The function returned this (serialised) value.
    Returned(Box<RawValue>),
    /// The function panicked.
    Panicked {
        message: String,
        location: Option<String>,
    },
    /// The result did not serialise (the reason).
    Encode(String),
    /// The argument did not deserialise (the reason), or the call could not be made.
    Decode(String),
}

/// How a call ended in the worker, as it sends it.
pub(super) enum Answer {
    /// The function returned a value: the worker's `Done` message with the value, serialised
    /// (the parent reads it as a `FromWorker::Done` of a [`Reply::Returned`]).
    Returned(Vec<u8>),
    /// Any other end.
    Failed(Reply),
}

/// `FromWorker::Done(Reply::Returned(value))` as the worker writes it, the value serialised
/// straight into the message: the same variants, so the parent reads it as that.
#[derive(Serialize)]
enum DoneOut<'a, R: ?Sized> {
    Done(ReturnedOut<'a, R>),
}

/// [`Reply::Returned`] as [`DoneOut`] writes it.
#[derive(Serialize)]
enum ReturnedOut<'a, R: ?Sized> {
    Returned(&'a R),
}

/// An entry as the worker calls it: `target` is the address of the function.
type Entry = unsafe fn(target: usize, args: &RawValue) -> Answer;

/// The code numbers of an entry and a function: computed once per `map`, shared by its chunks.
#[derive(Debug, Clone, Copy)]
pub(super) struct Code {
    entry: u64,
    target: u64,
}

impl Code {
    /// The numbers for calling `target` once per call.
    pub(super) fn one<A, R>(target: fn(A) -> R) -> Result<Code, Error>
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        Code::of(run_one::<A, R> as Entry as usize, target as usize)
    }

    /// The numbers for mapping `target` over a chunk of arguments per call.
    pub(super) fn chunk<A, R>(target: fn(A) -> R) -> Result<Code, Error>
    where
        A: DeserializeOwned,
        R: Serialize,
    {
        Code::of(run_chunk::<A, R> as Entry as usize, target as usize)
    }

    /// A chunk's code for `starmap`: `target` takes a tuple's fields as its arguments.
    pub(super) fn star_chunk<Args, R>(target: Args::Fn<R>) -> Result<Code, Error>
    where
        Args: StarArgs + DeserializeOwned,
        R: Serialize,
    {
        Code::of(
            run_star_chunk::<Args, R> as Entry as usize,
            Args::address(target),
        )
    }

    fn of(entry: usize, target: usize) -> Result<Code, Error> {
        let number = |address| crate::sys::code_ref(address).map_err(Error::InvalidArgument);
        Ok(Code {
            entry: number(entry)?,
            target: number(target)?,
        })
    }

    /// A call of this code with `args`: [`Error::Encode`] if they do not serialise.
    pub(super) fn call<T: Serialize + ?Sized>(self, args: &T) -> Result<Call, Error> {
        let args = serde_json::value::to_raw_value(args).map_err(unserialisable::<T>)?;
        Ok(Call {
            entry: self.entry,
            target: self.target,
            args,
        })
    }

    /// The message that asks a worker to run this code with `args` (a
    /// [`ToWorker::Run`] of its [`Call`]), as the pipe carries it, with the task's
    /// `submission` id from [`crate::trace::next_submission`] (0 without the feature `trace`),
    /// which the worker's `pool.task` span carries: [`Error::Encode`] if they do not
    /// serialise.
    pub(super) fn message<T: Serialize + ?Sized>(
        self,
        submission: u64,
        args: &T,
    ) -> Result<Vec<u8>, Error> {
        let call = Outgoing {
            entry: self.entry,
            target: self.target,
            args,
            submission,
        };
        serde_json::to_vec(&ToWorker::Run(call)).map_err(unserialisable::<T>)
    }
}

impl Call {
    /// Runs the call in a worker (see the module docs).
    pub(super) fn run(&self) -> Answer {
        CallRef {
            entry: self.entry,
            target: self.target,
            args: &self.args,
            submission: 0,
        }
        .run()
    }
}

impl CallRef<'_> {
    /// Runs the call in a worker (see the module docs).
    pub(super) fn run(&self) -> Answer {
        let addresses = crate::sys::code_address(self.entry)
            .and_then(|entry| Ok((entry, crate::sys::code_address(self.target)?)));
        let (entry, target) = match addresses {
            Ok(addresses) => addresses,
            Err(reason) => {
                let reason = format!("the task cannot be found: {reason}");
                return Answer::Failed(Reply::Decode(reason));
            }
        };
        // SAFETY: `entry` is the number `Code::of` took, in a process of this tree (the same
        // executable or module), of a value of type `Entry` (`run_one`, `run_chunk` or `run_star_chunk`);
        // `code_address` checked that it names code of this executable (in the browser,
        // `call_indirect` checks the index and the signature). A function pointer and `usize`
        // have the same size.
        let entry = unsafe { std::mem::transmute::<usize, Entry>(entry) };
        // SAFETY: `Code::one` and `Code::chunk` pair each entry with a `fn(A) -> R` of the
        // same `A` and `R`, `Code::star_chunk` with an `Args::Fn<R>` of the same `Args` and
        // `R`, numbered in the same `Code`: `target` is that function here.
        unsafe { entry(target, self.args) }
    }
}

impl Reply {
    /// The value a worker named `worker` sent back, deserialised, or the task's error.
    pub(super) fn decode<T: DeserializeOwned>(self, worker: &str) -> Result<T, Error> {
        match self {
            Reply::Returned(value) => serde_json::from_str(value.get()).map_err(|err| {
                Error::Decode(format!(
                    "the result of a task run by worker '{worker}' does not deserialise as {}: \
                     {err}",
                    type_name::<T>()
                ))
            }),
            Reply::Panicked { message, location } => Err(Error::Panicked(PanicReport {
                thread: worker.to_owned(),
                message,
                location,
            })),
            Reply::Encode(reason) => Err(Error::Encode(format!("in worker '{worker}': {reason}"))),
            Reply::Decode(reason) => Err(Error::Decode(format!("in worker '{worker}': {reason}"))),
        }
    }
}

/// Calls `target` once.
///
/// # Safety
///
/// `target` must be the address of a `fn(A) -> R` in this process.
unsafe fn run_one<A: DeserializeOwned, R: Serialize>(target: usize, args: &RawValue) -> Answer {
    // SAFETY: the caller guarantees `target` is the address of a `fn(A) -> R`; function
    // pointers and `usize` have the same size.
    let target = unsafe { std::mem::transmute::<usize, fn(A) -> R>(target) };
    let args = match serde_json::from_str::<A>(args.get()) {
        Ok(args) => args,
        Err(err) => return undecodable::<A>(&err),
    };
    match child::catch_task(|| target(args)) {
        Ok(value) => encode(&value),
        Err((message, location)) => Answer::Failed(Reply::Panicked { message, location }),
    }
}

/// Maps `target` over a chunk of arguments.
///
/// # Safety
///
/// `target` must be the address of a `fn(A) -> R` in this process.
unsafe fn run_chunk<A: DeserializeOwned, R: Serialize>(target: usize, args: &RawValue) -> Answer {
    // SAFETY: as in `run_one`.
    let target = unsafe { std::mem::transmute::<usize, fn(A) -> R>(target) };
    let items = match serde_json::from_str::<Vec<A>>(args.get()) {
        Ok(items) => items,
        Err(err) => return undecodable::<A>(&err),
    };
    map_caught(items, target)
}

/// Maps `target` over a chunk of argument tuples, spreading each into its parameters.
///
/// # Safety
///
/// `target` must be the address of an `Args::Fn<R>` in this process.
unsafe fn run_star_chunk<Args: StarArgs + DeserializeOwned, R: Serialize>(
    target: usize,
    args: &RawValue,
) -> Answer {
    // SAFETY: the caller guarantees `target` is the address of an `Args::Fn<R>`
    // (`Code::star_chunk` numbered it with this entry).
    let target = unsafe { Args::from_address::<R>(target) };
    let items = match serde_json::from_str::<Vec<Args>>(args.get()) {
        Ok(items) => items,
        Err(err) => return undecodable::<Args>(&err),
    };
    map_caught(items, |args| Args::call_star(target, args))
}

/// Calls `call` on each item of a chunk and encodes the results, or the chunk's first panic.
///
/// One catch per item rather than one around the whole loop: the same outcome (the chunk
/// fails at its first panic), and the shape the optimised wasm32 build compiles (LLVM's
/// WebAssembly back end crashes on a loop of indirect calls inside one catch).
fn map_caught<T, R: Serialize>(items: Vec<T>, mut call: impl FnMut(T) -> R) -> Answer {
    let mut values = Vec::with_capacity(items.len());
    for item in items {
        match child::catch_task(|| call(item)) {
            Ok(value) => values.push(value),
            Err((message, location)) => {
                return Answer::Failed(Reply::Panicked { message, location })
            }
        }
    }
    encode(&values)
}

fn undecodable<A>(err: &serde_json::Error) -> Answer {
    Answer::Failed(Reply::Decode(format!(
        "the task's arguments do not deserialise as {}: {err}",
        type_name::<A>()
    )))
}

/// The error for arguments of type `T` that do not serialise.
fn unserialisable<T: ?Sized>(err: serde_json::Error) -> Error {
    Error::Encode(format!(
        "the task's arguments ({}) do not serialise: {err}",
        type_name::<T>()
    ))
}

/// The worker's `Done` message with `value`, or the error if it does not serialise.
fn encode<R: Serialize + ?Sized>(value: &R) -> Answer {
    match serde_json::to_vec(&DoneOut::Done(ReturnedOut::Returned(value))) {
        Ok(message) => Answer::Returned(message),
        Err(err) => Answer::Failed(Reply::Encode(format!(
            "the task's result ({}) does not serialise: {err}",
            type_name::<R>()
        ))),
    }
}

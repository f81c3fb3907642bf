//! [`AuthKey`]: the secret both ends of a connection prove they hold.

use std::fmt;
use std::path::Path;

use crate::{sys, Error};

/// The secret shared by a [`Listener`](super::Listener) and its clients (Python's `authkey`).
///
/// Bytes, never empty. Its `Debug` shows the length only, never the bytes, and the bytes are
/// overwritten with zeros when the key is dropped. A key is never sent: each end proves it
/// holds it by answering a random challenge with an HMAC-SHA256 (see the
/// [module](super)).
///
/// Give a standalone server its key through the environment ([`AuthKey::from_env`]) or a file
/// readable by its user only ([`AuthKey::from_file`]), never on a command line (which other
/// users of the machine can read).
///
/// # Examples
///
/// ```
/// use amphi::process::connection::AuthKey;
/// let key = AuthKey::new(b"correct horse battery staple".to_vec())?;
/// assert_eq!(format!("{key:?}"), "AuthKey(28 bytes)");
/// assert!(AuthKey::new(Vec::new()).is_err());
/// assert_eq!(AuthKey::random()?.as_bytes().len(), 32);
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Clone)]
pub struct AuthKey(Vec<u8>);

impl AuthKey {
    /// The length of [`AuthKey::random`]'s keys, in bytes.
    pub const RANDOM_LENGTH: usize = 32;

    /// A key of these bytes; [`Error::InvalidArgument`] if there are none.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<AuthKey, Error> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(Error::InvalidArgument(
                "an authentication key may not be empty".to_owned(),
            ));
        }
        Ok(AuthKey(bytes))
    }

    /// [`AuthKey::RANDOM_LENGTH`] bytes from the operating system's cryptographic random
    /// source ([`Error::Unsupported`] in the browser).
    pub fn random() -> Result<AuthKey, Error> {
        let mut bytes = vec![0; AuthKey::RANDOM_LENGTH];
        sys::fill_random(&mut bytes)?;
        Ok(AuthKey(bytes))
    }

    /// The bytes of environment variable `variable`; [`Error::InvalidArgument`] if it is unset
    /// or empty.
    ///
    /// ```
    /// use amphi::process::connection::AuthKey;
    /// assert!(AuthKey::from_env("AMPHI_SURELY_UNSET_VARIABLE").is_err());
    /// ```
    pub fn from_env(variable: &str) -> Result<AuthKey, Error> {
        let value = std::env::var_os(variable).ok_or_else(|| {
            Error::InvalidArgument(format!(
                "environment variable {variable} (the authentication key) is not set"
            ))
        })?;
        AuthKey::new(value.into_encoded_bytes()).map_err(|_| {
            Error::InvalidArgument(format!(
                "environment variable {variable} (the authentication key) is empty"
            ))
        })
    }

    /// The bytes of the file at `path`, less one final line ending (`\n` or `\r\n`, as
    /// `echo secret > key` leaves); [`Error::InvalidArgument`] if it cannot be read or holds
    /// no key.
    pub fn from_file(path: impl AsRef<Path>) -> Result<AuthKey, Error> {
        let path = path.as_ref();
        let mut bytes = std::fs::read(path).map_err(|error| {
            Error::InvalidArgument(format!(
                "cannot read the authentication key file {}: {error}",
                path.display()
            ))
        })?;
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        AuthKey::new(bytes).map_err(|_| {
            Error::InvalidArgument(format!(
                "the authentication key file {} is empty",
                path.display()
            ))
        })
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for AuthKey {
    /// The length only: a key is never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AuthKey({} bytes)", self.0.len())
    }
}

impl Drop for AuthKey {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

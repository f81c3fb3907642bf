//! [`Address`]: where a [`Listener`](super::Listener) listens and a [`Client`](super::Client)
//! connects, a Unix socket's path or a TCP host and port.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::sys::Endpoint;
use crate::Error;

/// Where a listener listens and a client connects.
///
/// Parsed from text ([`str::parse`] or [`Address::parse`]):
/// - `unix:/run/app.sock`, or a plain path (`/run/app.sock`, `./app.sock`, `app.sock`): a Unix
///   stream socket at that path;
/// - `tcp://host:port` or `host:port` (`127.0.0.1:5000`, `localhost:5000`, `[::1]:5000`): TCP.
///   Port 0 asks the system for a free port; the listener's [`address`](super::Listener::address)
///   says which.
///
/// [`Display`](fmt::Display) writes the `unix:` or `tcp://` form, which parses back to the
/// same address.
///
/// # Examples
///
/// ```
/// use amphi::process::connection::Address;
/// let tcp: Address = "localhost:5000".parse()?;
/// assert_eq!(tcp, Address::tcp("localhost", 5000));
/// assert_eq!(tcp.to_string(), "tcp://localhost:5000");
/// let unix: Address = "/run/app.sock".parse()?;
/// assert_eq!(unix.to_string(), "unix:/run/app.sock");
/// assert_eq!(unix.to_string().parse::<Address>()?, unix);
/// assert!("".parse::<Address>().is_err());
/// # Ok::<(), amphi::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Address {
    /// A Unix stream socket at this path.
    Unix(PathBuf),
    /// A TCP socket.
    Tcp {
        /// A host name or an IP address (an IPv6 address without brackets).
        host: String,
        /// The port.
        port: u16,
    },
}

impl Address {
    /// A Unix socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Address {
        Address::Unix(path.into())
    }

    /// A TCP socket at `host` and `port`.
    pub fn tcp(host: impl Into<String>, port: u16) -> Address {
        Address::Tcp {
            host: host.into(),
            port,
        }
    }

    /// Parses the forms listed on [`Address`]; [`Error::InvalidArgument`] for anything else.
    pub fn parse(text: &str) -> Result<Address, Error> {
        let invalid = |why: &str| Error::InvalidArgument(format!("address {text:?}: {why}"));
        if text.is_empty() {
            return Err(invalid("empty"));
        }
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(invalid("no path after unix:"));
            }
            return Ok(Address::unix(path));
        }
        if let Some(host_port) = text.strip_prefix("tcp://") {
            return parse_host_port(host_port).ok_or_else(|| invalid("expected tcp://host:port"));
        }
        if text.contains('/') {
            return Ok(Address::unix(text));
        }
        Ok(parse_host_port(text).unwrap_or_else(|| Address::unix(text)))
    }

    /// The endpoint the platform binds or connects.
    pub(crate) fn endpoint(&self) -> Endpoint<'_> {
        match self {
            Address::Unix(path) => Endpoint::Unix(Path::new(path)),
            Address::Tcp { host, port } => Endpoint::Tcp { host, port: *port },
        }
    }
}

/// `host:port` or `[v6]:port`, with a non-empty host and a numeric port.
fn parse_host_port(text: &str) -> Option<Address> {
    let (host, port) = text.rsplit_once(':')?;
    let port = port.parse::<u16>().ok()?;
    let host = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.strip_suffix(']')?,
        None if host.contains(':') => return None,
        None => host,
    };
    (!host.is_empty()).then(|| Address::tcp(host, port))
}

impl FromStr for Address {
    type Err = Error;

    fn from_str(text: &str) -> Result<Address, Error> {
        Address::parse(text)
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Address::Unix(path) => write!(f, "unix:{}", path.display()),
            Address::Tcp { host, port } if host.contains(':') => write!(f, "tcp://[{host}]:{port}"),
            Address::Tcp { host, port } => write!(f, "tcp://{host}:{port}"),
        }
    }
}

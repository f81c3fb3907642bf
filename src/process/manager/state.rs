//! The server's state: the objects, who holds references to them, and the one entry every
//! transport calls, [`State::dispatch`] (and [`State::client_gone`] when a client is found
//! dead).
//!
//! # References
//!
//! An object lives while something refers to it:
//! - a client's proxies: one reference per proxy handle a client process holds (created by
//!   [`Request::Create`] and [`Request::Adopt`], released by [`Request::Decref`], and all at
//!   once by [`State::client_gone`]);
//! - a stored value: each token of the object inside a value another object stores (a dict
//!   whose values are list proxies keeps the lists alive);
//! - transit: a token on its way between processes. A client that serialises a proxy sends
//!   [`Request::Incref`] first (+1); a token in a reply counts +1; a token that reaches the
//!   server in a request, or is deserialised by a client ([`Request::Adopt`]), counts -1.
//!
//! An object is freed when no client and no stored value refers to it and nothing is in
//! transit; the tokens in its own values are then released in turn. A token serialised and
//! never deserialised (a proxy put in a process's arguments whose process never starts) keeps
//! its object until the manager ends, as in Python.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;

use super::objects::{other, Object};
use super::protocol::{ManagerStats, Method, Refusal, Reply, Request, TOKEN};
use super::served::{Served, Wait};

/// Who sent a request: a client process's id, chosen by the client (its pid in the high 32
/// bits, so a transport can tell when it died).
pub(crate) type ClientId = u64;

/// The pid of a client (see [`ClientId`]).
pub(crate) fn pid_of(client: ClientId) -> u32 {
    (client >> 32) as u32
}

/// An object and the references to it.
#[derive(Debug)]
struct Entry {
    object: Object,
    /// References held by clients' proxies.
    clients: u64,
    /// Tokens of this object inside stored values.
    stored: u64,
    /// Tokens in transit (may dip below 0 when a deserialisation overtakes its serialisation).
    transit: i64,
}

impl Entry {
    fn unreferenced(&self) -> bool {
        self.clients == 0 && self.stored == 0 && self.transit <= 0
    }
}

/// What the server holds (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Objects {
    entries: HashMap<u64, Entry>,
    /// The references each client holds, by object.
    held: HashMap<ClientId, HashMap<u64, u64>>,
    next_id: u64,
    shutting_down: bool,
}

/// The tokens inside `value`: the ids of the objects it names.
fn tokens(value: &Value, out: &mut Vec<u64>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some(id) = map
                    .get(TOKEN)
                    .and_then(|token| token.get(0))
                    .and_then(Value::as_u64)
                {
                    out.push(id);
                    return;
                }
            }
            map.values().for_each(|inner| tokens(inner, out));
        }
        Value::Array(items) => items.iter().for_each(|inner| tokens(inner, out)),
        _ => {}
    }
}

fn tokens_of(values: &[Value]) -> Vec<u64> {
    let mut out = Vec::new();
    values.iter().for_each(|value| tokens(value, &mut out));
    out
}

/// The tokens in a method's arguments.
fn method_tokens(method: &Method) -> Vec<u64> {
    match serde_json::to_value(method) {
        Ok(value) => tokens_of(&[value]),
        Err(_) => Vec::new(),
    }
}

impl Objects {
    /// Runs one request from `client`: the reply, or `None` for the reference messages.
    /// `tokens`: whether the request may hold tokens (its JSON names [`TOKEN`]).
    pub(crate) fn dispatch(
        &mut self,
        client: ClientId,
        request: Request,
        tokens: bool,
    ) -> Option<Reply> {
        self.held.entry(client).or_default();
        // The objects whose counts move; checked for freeing once the reply is counted, so a
        // token in a popped value lives until its receiver adopts it.
        let mut touched = Vec::new();
        let reply = match request {
            Request::Create { kind, init } => {
                touched = tokens_of(std::slice::from_ref(&init));
                self.add_transit(&touched, -1);
                Object::new(kind, init).map(|(object, effects)| {
                    self.next_id += 1;
                    let id = self.next_id;
                    let entry = Entry {
                        object,
                        clients: 0,
                        stored: 0,
                        transit: 0,
                    };
                    self.entries.insert(id, entry);
                    self.add_stored(&tokens_of(&effects.stored), 1);
                    self.hold(client, id);
                    Value::from(id)
                })
            }
            Request::Call { id, method } => {
                if tokens {
                    touched = method_tokens(&method);
                }
                self.add_transit(&touched, -1);
                match self.entries.get_mut(&id) {
                    None => Err(other("the object no longer exists in the manager")),
                    Some(entry) => {
                        let (reply, effects) = entry.object.call(method);
                        let stored = tokens_of(&effects.stored);
                        let released = tokens_of(&effects.released);
                        self.add_stored(&stored, 1);
                        self.add_stored(&released, -1);
                        touched.extend(stored);
                        touched.extend(released);
                        reply
                    }
                }
            }
            // Served by `State::dispatch_waiting` only, outside this lock (see `served`).
            Request::Sync { .. } => Err(other(
                "synchronisation objects are served over a socket manager's connections only",
            )),
            Request::Stats => Ok(serde_json::to_value(self.stats()).unwrap_or(Value::Null)),
            Request::Shutdown => {
                self.shutting_down = true;
                Ok(Value::Null)
            }
            Request::Incref { id } => {
                self.add_transit(&[id], 1);
                return None;
            }
            Request::Adopt { id } => {
                self.add_transit(&[id], -1);
                self.hold(client, id);
                self.free_if_unreferenced(vec![id]);
                return None;
            }
            Request::Decref { id } => {
                self.unhold(client, id, 1);
                return None;
            }
        };
        if let Ok(value) = &reply {
            self.add_transit(&tokens_of(std::slice::from_ref(value)), 1);
        }
        self.free_if_unreferenced(touched);
        Some(reply)
    }

    /// Releases every reference `client` held (it died, or its connection ended for good).
    pub(crate) fn client_gone(&mut self, client: ClientId) {
        let Some(held) = self.held.remove(&client) else {
            return;
        };
        for (id, count) in held {
            self.unhold_counted(id, count);
        }
    }

    /// The served synchronisation object `id`, if there is one.
    fn served(&self, id: u64) -> Option<Arc<Served>> {
        self.entries.get(&id)?.object.served().cloned()
    }

    /// Every served synchronisation object.
    fn all_served(&self) -> Vec<Arc<Served>> {
        self.entries
            .values()
            .filter_map(|entry| entry.object.served().cloned())
            .collect()
    }

    /// The clients the server knows.
    pub(crate) fn clients(&self) -> Vec<ClientId> {
        self.held.keys().copied().collect()
    }

    /// Whether a [`Request::Shutdown`] was answered.
    pub(crate) fn shutting_down(&self) -> bool {
        self.shutting_down
    }

    fn stats(&self) -> ManagerStats {
        ManagerStats {
            objects: self.entries.len(),
            clients: self.held.len(),
        }
    }

    fn hold(&mut self, client: ClientId, id: u64) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.clients += 1;
            *self.held.entry(client).or_default().entry(id).or_default() += 1;
        }
    }

    fn unhold(&mut self, client: ClientId, id: u64, count: u64) {
        let Some(held) = self.held.get_mut(&client) else {
            return;
        };
        let Some(mine) = held.get_mut(&id) else {
            return;
        };
        let count = count.min(*mine);
        *mine -= count;
        if *mine == 0 {
            held.remove(&id);
        }
        self.unhold_counted(id, count);
    }

    fn unhold_counted(&mut self, id: u64, count: u64) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.clients = entry.clients.saturating_sub(count);
        }
        self.free_if_unreferenced(vec![id]);
    }

    fn add_transit(&mut self, ids: &[u64], delta: i64) {
        for id in ids {
            if let Some(entry) = self.entries.get_mut(id) {
                entry.transit += delta;
            }
        }
    }

    fn add_stored(&mut self, ids: &[u64], delta: i64) {
        for id in ids {
            if let Some(entry) = self.entries.get_mut(id) {
                entry.stored = entry.stored.saturating_add_signed(delta);
            }
        }
    }

    /// Frees the objects of `ids` that nothing refers to, then whatever their values held.
    fn free_if_unreferenced(&mut self, mut ids: Vec<u64>) {
        while let Some(id) = ids.pop() {
            if !self.entries.get(&id).is_some_and(Entry::unreferenced) {
                continue;
            }
            let entry = self.entries.remove(&id).expect("checked above");
            for inner in tokens_of(&entry.object.into_values()) {
                if let Some(held) = self.entries.get_mut(&inner) {
                    held.stored = held.stored.saturating_sub(1);
                    ids.push(inner);
                }
            }
        }
    }
}

/// [`Objects`] behind a lock: the thread-safe entry a transport calls, one request at a time
/// from any number of serving threads (a socket transport serves each connection on a thread
/// of its own; the rings' serving loop calls it from its one thread).
#[derive(Debug, Default)]
pub(crate) struct State {
    objects: Mutex<Objects>,
}

impl State {
    /// Runs one request, given as its JSON, from `client`: the reply's JSON, or `None` for a
    /// message that expects none. A request that is not valid JSON of a [`Request`] is
    /// refused (answered, so the client does not wait).
    pub(crate) fn dispatch(&self, client: ClientId, request: &[u8]) -> Option<Vec<u8>> {
        self.dispatch_waiting(client, request, None)
    }

    /// [`dispatch`](State::dispatch) for a transport that serves each connection on a thread
    /// of its own, and so may wait in it: a `Request::Sync` runs on its object outside the
    /// state's lock, waiting at most its timeout, while `alive()` says the connection is open
    /// (`None`: such requests are refused).
    pub(crate) fn dispatch_waiting(
        &self,
        client: ClientId,
        request: &[u8],
        alive: Option<&dyn Fn() -> bool>,
    ) -> Option<Vec<u8>> {
        let reply = match serde_json::from_slice::<Request>(request) {
            Ok(Request::Sync { id, call, timeout }) if alive.is_some() => {
                let served = self.lock().served(id);
                match (served, alive) {
                    (Some(served), Some(alive)) => {
                        let wait = Wait {
                            deadline: crate::time::Deadline::within(timeout),
                            alive,
                        };
                        served.call(client, call, &wait)
                    }
                    _ => Err(other("the object no longer exists in the manager")),
                }
            }
            Ok(parsed) => {
                let tokens = request
                    .windows(TOKEN.len())
                    .any(|window| window == TOKEN.as_bytes());
                self.lock().dispatch(client, parsed, tokens)?
            }
            Err(err) => Err(Refusal::Other(format!("not a valid request: {err}"))),
        };
        Some(serde_json::to_vec(&reply).unwrap_or_else(|err| {
            serde_json::to_vec(&Reply::Err(Refusal::Other(err.to_string())))
                .expect("a refusal serialises")
        }))
    }

    /// Releases what `client` held: its connection was found dead.
    pub(crate) fn client_gone(&self, client: ClientId) {
        let served = {
            let mut objects = self.lock();
            objects.client_gone(client);
            objects.all_served()
        };
        // What the connection held of a synchronisation object is given back (see `served`).
        for object in served {
            object.client_gone(client);
        }
    }

    /// The clients known.
    pub(crate) fn clients(&self) -> Vec<ClientId> {
        self.lock().clients()
    }

    /// Whether a shutdown was asked for.
    pub(crate) fn shutting_down(&self) -> bool {
        self.lock().shutting_down()
    }

    fn lock(&self) -> MutexGuard<'_, Objects> {
        self.objects
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

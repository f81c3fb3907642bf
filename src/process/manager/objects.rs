//! The objects a manager's server holds, and the methods that run on them. No references,
//! no transport: `state` decides what lives, this module what a method does.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{json, Value};

use super::protocol::{Kind, Method, Refusal, Reply};
use super::served::Served;

/// A dict in insertion order (Python's): entries by insertion number, and the insertion
/// number of each key's JSON text.
#[derive(Debug, Default)]
pub(super) struct Dict {
    entries: BTreeMap<u64, (Value, Value)>,
    index: HashMap<String, u64>,
    next: u64,
}

impl Dict {
    fn from_value(init: Value) -> Result<Dict, Refusal> {
        let mut dict = Dict::default();
        match init {
            Value::Null => {}
            Value::Array(pairs) => {
                for pair in pairs {
                    let (key, value) = pair_of(pair)?;
                    dict.insert(key, value);
                }
            }
            Value::Object(map) => {
                for (key, value) in map {
                    dict.insert(Value::String(key), value);
                }
            }
            _ => return Err(other("a dict starts from pairs")),
        }
        Ok(dict)
    }

    fn text(key: &Value) -> String {
        key.to_string()
    }

    fn get(&self, key: &Value) -> Option<&Value> {
        let seq = self.index.get(&Dict::text(key))?;
        self.entries.get(seq).map(|(_, value)| value)
    }

    /// Sets `key`; the old value if there was one (a new key goes last, a known one stays put).
    fn insert(&mut self, key: Value, value: Value) -> Option<Value> {
        let text = Dict::text(&key);
        if let Some(seq) = self.index.get(&text) {
            let entry = self.entries.get_mut(seq).expect("indexed entries exist");
            return Some(std::mem::replace(&mut entry.1, value));
        }
        self.next += 1;
        self.index.insert(text, self.next);
        self.entries.insert(self.next, (key, value));
        None
    }

    fn remove(&mut self, key: &Value) -> Option<Value> {
        let seq = self.index.remove(&Dict::text(key))?;
        self.entries.remove(&seq).map(|(_, value)| value)
    }

    fn len(&self) -> usize {
        self.entries.len()
    }

    fn clear(&mut self) -> Vec<Value> {
        self.index.clear();
        std::mem::take(&mut self.entries)
            .into_values()
            .map(|(_, value)| value)
            .collect()
    }
}

/// What an object holds.
#[derive(Debug)]
pub(super) enum Data {
    Dict(Dict),
    List(Vec<Value>),
    Value(Value),
    /// A served synchronisation object (see `served`), called through `Request::Sync`
    /// outside the state's lock, since its calls may wait.
    Served(Arc<Served>),
}

/// A served object: its data and its versions.
#[derive(Debug)]
pub(super) struct Object {
    pub(super) data: Data,
    /// Bumped by every change (a list's client-side sort checks it).
    changes: u64,
    /// Bumped by every change of size (iteration checks it).
    resizes: u64,
}

/// What a method did to the stored values: the values it stored and the ones it let go, whose
/// tokens the state counts.
#[derive(Debug, Default)]
pub(super) struct Effects {
    pub(super) stored: Vec<Value>,
    pub(super) released: Vec<Value>,
}

pub(super) fn other(message: &str) -> Refusal {
    Refusal::Other(message.to_owned())
}

fn pair_of(pair: Value) -> Result<(Value, Value), Refusal> {
    match pair {
        Value::Array(mut two) if two.len() == 2 => {
            let value = two.pop().expect("two");
            let key = two.pop().expect("two");
            Ok((key, value))
        }
        _ => Err(other("a dict's items are [key, value] pairs")),
    }
}

fn found(value: Option<Value>) -> Value {
    Value::Array(value.into_iter().collect())
}

/// Python's index: negative counts from the end; `None` outside.
fn position(index: i64, len: usize) -> Option<usize> {
    let len_i = i64::try_from(len).ok()?;
    let at = if index < 0 { index + len_i } else { index };
    (0..len_i).contains(&at).then_some(at as usize)
}

/// Python's slice bound: clamped into `0..=len`.
fn bound(at: Option<i64>, len: usize, default: usize) -> usize {
    let Some(at) = at else { return default };
    let len_i = i64::try_from(len).unwrap_or(i64::MAX);
    let at = if at < 0 {
        (at + len_i).max(0)
    } else {
        at.min(len_i)
    };
    at as usize
}

/// `a + b` for JSON numbers: integers while they fit, else floats.
fn add_numbers(a: &Value, b: &Value) -> Result<Value, Refusal> {
    if let (Some(a), Some(b)) = (a.as_i64(), b.as_i64()) {
        return a
            .checked_add(b)
            .map(Value::from)
            .ok_or_else(|| other("the sum overflows a 64-bit integer"));
    }
    if let (Some(a), Some(b)) = (a.as_u64(), b.as_u64()) {
        return a
            .checked_add(b)
            .map(Value::from)
            .ok_or_else(|| other("the sum overflows a 64-bit integer"));
    }
    match (a.as_f64(), b.as_f64()) {
        (Some(a), Some(b)) => Ok(json!(a + b)),
        _ => Err(other("only numbers can be added")),
    }
}

impl Object {
    /// A new object of `kind` from its initial value.
    pub(super) fn new(kind: Kind, init: Value) -> Result<(Object, Effects), Refusal> {
        let data = match kind {
            Kind::Dict | Kind::Namespace => Data::Dict(Dict::from_value(init.clone())?),
            Kind::List => match init.clone() {
                Value::Null => Data::List(Vec::new()),
                Value::Array(items) => Data::List(items),
                _ => return Err(other("a list starts from an array")),
            },
            Kind::Value => Data::Value(init.clone()),
            kind => Data::Served(Arc::new(Served::new(kind, &init)?)),
        };
        let effects = Effects {
            stored: vec![init],
            released: Vec::new(),
        };
        Ok((
            Object {
                data,
                changes: 0,
                resizes: 0,
            },
            effects,
        ))
    }

    /// Every value the object stores (to release its tokens when it is freed).
    pub(super) fn into_values(self) -> Vec<Value> {
        match self.data {
            Data::Dict(mut dict) => {
                let mut values = Vec::new();
                for (_, (key, value)) in std::mem::take(&mut dict.entries) {
                    values.push(key);
                    values.push(value);
                }
                values
            }
            Data::List(items) => items,
            Data::Value(value) => vec![value],
            // A queued item's tokens are counted in transit, not as stored (see `served`).
            Data::Served(_) => Vec::new(),
        }
    }

    /// The served synchronisation object this is, if it is one.
    pub(super) fn served(&self) -> Option<&Arc<Served>> {
        match &self.data {
            Data::Served(served) => Some(served),
            _ => None,
        }
    }

    /// Runs `method`: the reply, and what it stored and let go.
    pub(super) fn call(&mut self, method: Method) -> (Reply, Effects) {
        let mut effects = Effects::default();
        let len_before = self.len();
        let reply = match &mut self.data {
            Data::Dict(dict) => dict_call(dict, method, &mut effects),
            Data::List(items) => list_call(items, method, &mut effects, self.changes),
            Data::Value(value) => value_call(value, method, &mut effects),
            Data::Served(_) => Err(other("a synchronisation object is called through Sync")),
        };
        if !effects.stored.is_empty() || !effects.released.is_empty() {
            self.changes += 1;
        }
        if self.len() != len_before {
            self.resizes += 1;
        }
        let reply = match reply {
            Ok(Chunked::Done(value)) => Ok(value),
            Ok(Chunked::Chunk {
                start,
                count,
                version,
            }) => self.chunk(start, count, version),
            Ok(Chunked::Snapshot) => {
                Ok(json!({ "version": self.changes, "items": self.items_of_list() }))
            }
            Err(refusal) => Err(refusal),
        };
        (reply, effects)
    }

    fn len(&self) -> usize {
        match &self.data {
            Data::Dict(dict) => dict.len(),
            Data::List(items) => items.len(),
            Data::Value(_) | Data::Served(_) => 1,
        }
    }

    fn items_of_list(&self) -> Value {
        match &self.data {
            Data::List(items) => Value::Array(items.clone()),
            _ => Value::Null,
        }
    }

    fn chunk(&self, start: usize, count: usize, version: Option<u64>) -> Reply {
        if version.is_some_and(|version| version != self.resizes) {
            return Err(Refusal::ChangedSize);
        }
        let items: Vec<Value> = match &self.data {
            Data::Dict(dict) => dict
                .entries
                .values()
                .skip(start)
                .take(count)
                .map(|(key, value)| json!([key, value]))
                .collect(),
            Data::List(items) => items.iter().skip(start).take(count).cloned().collect(),
            Data::Value(_) | Data::Served(_) => return Err(other("not iterable")),
        };
        Ok(json!({ "version": self.resizes, "items": items }))
    }
}

/// A method's answer, or what the object answers once the method is done.
enum Chunked {
    Done(Value),
    Chunk {
        start: usize,
        count: usize,
        version: Option<u64>,
    },
    Snapshot,
}

fn done(value: Value) -> Result<Chunked, Refusal> {
    Ok(Chunked::Done(value))
}

fn dict_call(dict: &mut Dict, method: Method, effects: &mut Effects) -> Result<Chunked, Refusal> {
    match method {
        Method::Len => done(dict.len().into()),
        Method::Get { key } => done(found(dict.get(&key).cloned())),
        Method::Insert { key, value } => {
            effects.stored.push(key.clone());
            effects.stored.push(value.clone());
            let old = dict.insert(key.clone(), value);
            if let Some(old) = &old {
                // The key was there already: its stored copy stays, the new one is not kept.
                effects.released.push(key);
                effects.released.push(old.clone());
            }
            done(found(old))
        }
        Method::Remove { key } => {
            let old = dict.remove(&key);
            if let Some(old) = &old {
                effects.released.push(key);
                effects.released.push(old.clone());
            }
            done(found(old))
        }
        Method::Contains { key } => done(dict.get(&key).is_some().into()),
        Method::Keys => done(dict.entries.values().map(|(key, _)| key.clone()).collect()),
        Method::Values => done(
            dict.entries
                .values()
                .map(|(_, value)| value.clone())
                .collect(),
        ),
        Method::Items => done(
            dict.entries
                .values()
                .map(|(key, value)| json!([key, value]))
                .collect(),
        ),
        Method::Clear => {
            let keys: Vec<Value> = dict.entries.values().map(|(key, _)| key.clone()).collect();
            effects.released.extend(keys);
            effects.released.extend(dict.clear());
            done(Value::Null)
        }
        Method::Update { items } => {
            for (key, value) in items {
                effects.stored.push(key.clone());
                effects.stored.push(value.clone());
                if let Some(old) = dict.insert(key.clone(), value) {
                    effects.released.push(key);
                    effects.released.push(old);
                }
            }
            done(Value::Null)
        }
        Method::Add { key, delta } => {
            let sum = add_numbers(dict.get(&key).unwrap_or(&json!(0)), &delta)?;
            effects.stored.push(sum.clone());
            match dict.insert(key.clone(), sum.clone()) {
                Some(old) => effects.released.push(old),
                // A new key is stored too.
                None => effects.stored.push(key),
            }
            done(sum)
        }
        Method::CompareAndSet { key, expected, new } => {
            if dict.get(&key).cloned().into_iter().collect::<Vec<_>>() != expected {
                return done(false.into());
            }
            effects.stored.push(key.clone());
            effects.stored.push(new.clone());
            if let Some(old) = dict.insert(key.clone(), new) {
                effects.released.push(key);
                effects.released.push(old);
            }
            done(true.into())
        }
        Method::Chunk {
            start,
            count,
            version,
        } => Ok(Chunked::Chunk {
            start,
            count,
            version,
        }),
        _ => Err(other("not a method of a dict or namespace")),
    }
}

fn list_call(
    items: &mut Vec<Value>,
    method: Method,
    effects: &mut Effects,
    changes: u64,
) -> Result<Chunked, Refusal> {
    let len = items.len();
    let out_of_range = |index: i64| Refusal::IndexOutOfRange { index, len };
    match method {
        Method::Len => done(len.into()),
        Method::Contains { key } => done(items.contains(&key).into()),
        Method::Keys | Method::Values => done(Value::Array(items.clone())),
        Method::Clear => {
            effects.released.append(items);
            done(Value::Null)
        }
        Method::Push { value } => {
            effects.stored.push(value.clone());
            items.push(value);
            done(Value::Null)
        }
        Method::Extend { values } => {
            effects.stored.extend(values.iter().cloned());
            items.extend(values);
            done(Value::Null)
        }
        Method::Index { index } => {
            let at = position(index, len).ok_or_else(|| out_of_range(index))?;
            done(items[at].clone())
        }
        Method::SetIndex { index, value } => {
            let at = position(index, len).ok_or_else(|| out_of_range(index))?;
            effects.stored.push(value.clone());
            effects
                .released
                .push(std::mem::replace(&mut items[at], value));
            done(Value::Null)
        }
        Method::Slice { start, stop } => {
            let from = bound(start, len, 0);
            let to = bound(stop, len, len).max(from);
            done(Value::Array(items[from..to].to_vec()))
        }
        Method::Pop { index } => {
            let index = index.unwrap_or(-1);
            let at = position(index, len).ok_or_else(|| out_of_range(index))?;
            let value = items.remove(at);
            effects.released.push(value.clone());
            done(value)
        }
        Method::InsertAt { index, value } => {
            let at = bound(Some(index), len, len);
            effects.stored.push(value.clone());
            items.insert(at, value);
            done(Value::Null)
        }
        Method::RemoveValue { value } => {
            let at = items
                .iter()
                .position(|item| *item == value)
                .ok_or_else(|| Refusal::KeyNotFound(value.to_string()))?;
            effects.released.push(items.remove(at));
            done(Value::Null)
        }
        Method::Snapshot => Ok(Chunked::Snapshot),
        Method::ReplaceIf { version, values } => {
            if version != changes {
                return done(false.into());
            }
            effects.stored.extend(values.iter().cloned());
            effects.released.extend(std::mem::replace(items, values));
            done(true.into())
        }
        Method::Chunk {
            start,
            count,
            version,
        } => Ok(Chunked::Chunk {
            start,
            count,
            version,
        }),
        _ => Err(other("not a method of a list")),
    }
}

fn value_call(
    value: &mut Value,
    method: Method,
    effects: &mut Effects,
) -> Result<Chunked, Refusal> {
    match method {
        Method::Load => done(value.clone()),
        Method::Store { value: new } => {
            effects.stored.push(new.clone());
            effects.released.push(std::mem::replace(value, new));
            done(Value::Null)
        }
        Method::Add { delta, .. } => {
            let sum = add_numbers(value, &delta)?;
            effects.stored.push(sum.clone());
            effects.released.push(std::mem::replace(value, sum.clone()));
            done(sum)
        }
        Method::CompareAndSet { expected, new, .. } => {
            if expected.len() != 1 || expected[0] != *value {
                return done(false.into());
            }
            effects.stored.push(new.clone());
            effects.released.push(std::mem::replace(value, new));
            done(true.into())
        }
        _ => Err(other("not a method of a value")),
    }
}

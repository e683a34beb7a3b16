//! A call's memory of what it read from storage, for keys it reads again
//! and again in one call (a tick asks after the same channel's writes in
//! flight and the same lock's health once per booking).
//!
//! [`Cached`] wraps a [`Host`](crate::host::Host) and answers reads of keys under the roots it
//! was given from memory once it has read them, keeping that memory in step
//! with the call's own writes. That is exact, not a guess at freshness: a
//! host runs one tenant's calls one at a time (the WIT world says so), so
//! within a call the tenant's storage changes only by that call's writes.
//!
//! What it remembers:
//! - a `get` of a key under a root: the value, or that there is none;
//! - a `list` of a prefix under a root from its start that came back shorter
//!   than its limit, so it holds every key with that prefix.
//!
//! A batch that fails forgets everything: the call cannot know what part of
//! it the host carried out. Every other read and write goes to the host
//! unchanged, as do HTTP, e-mail, the clock, logs, wake-ups and events.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::host::{
    Clock, Http, HttpError, HttpRequest, HttpResponse, Level, Log, Mailer, Notifier, Scheduler, Storage, StorageError,
    Write,
};
use crate::schedule::Instant;

/// A [`Host`](crate::host::Host) whose storage reads under `roots` are remembered for the call.
pub struct Cached<'h, H: ?Sized> {
    host: &'h H,
    roots: &'static [&'static str],
    memory: RefCell<Memory>,
}

#[derive(Default)]
struct Memory {
    /// Keys read or written: their value, `None` for no value.
    values: BTreeMap<String, Option<Vec<u8>>>,
    /// Prefixes listed whole: every key they hold, with its value.
    listed: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl<'h, H: ?Sized> Cached<'h, H> {
    /// Remembers reads of keys that start with one of `roots`.
    pub fn new(host: &'h H, roots: &'static [&'static str]) -> Self {
        Cached { host, roots, memory: RefCell::new(Memory::default()) }
    }

    fn covers(&self, key: &str) -> bool {
        self.roots.iter().any(|root| key.starts_with(root))
    }
}

impl<H: Storage + ?Sized> Storage for Cached<'_, H> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        if !self.covers(key) {
            return self.host.get(key);
        }
        if let Some(known) = self.memory.borrow().values.get(key) {
            return Ok(known.clone());
        }
        let value = self.host.get(key)?;
        self.memory.borrow_mut().values.insert(key.to_string(), value.clone());
        Ok(value)
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), StorageError> {
        let remembered: Vec<Write> = writes.iter().filter(|w| self.covers(w.key())).cloned().collect();
        if let Err(e) = self.host.apply(writes) {
            *self.memory.borrow_mut() = Memory::default();
            return Err(e);
        }
        let mut memory = self.memory.borrow_mut();
        for write in remembered {
            let (key, value) = match write {
                Write::Set(k, v) => (k, Some(v)),
                Write::Delete(k) => (k, None),
            };
            for (prefix, entries) in memory.listed.iter_mut() {
                if key.starts_with(prefix.as_str()) {
                    match &value {
                        Some(v) => entries.insert(key.clone(), v.clone()),
                        None => entries.remove(&key),
                    };
                }
            }
            memory.values.insert(key, value);
        }
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        if start_after.is_some() || !self.covers(prefix) {
            return self.host.list(prefix, start_after, limit);
        }
        if let Some(entries) = self.memory.borrow().listed.get(prefix) {
            return Ok(entries.iter().take(limit as usize).map(|(k, v)| (k.clone(), v.clone())).collect());
        }
        let page = self.host.list(prefix, None, limit)?;
        if (page.len() as u64) < u64::from(limit) {
            self.memory.borrow_mut().listed.insert(prefix.to_string(), page.iter().cloned().collect());
        }
        Ok(page)
    }
}

impl<H: Http + ?Sized> Http for Cached<'_, H> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.host.send(request)
    }
}

impl<H: Mailer + ?Sized> Mailer for Cached<'_, H> {
    fn send_to_owner(&self, dedup_key: &str, subject: &str, body: &str) -> Result<(), String> {
        self.host.send_to_owner(dedup_key, subject, body)
    }
}

impl<H: Clock + ?Sized> Clock for Cached<'_, H> {
    fn now(&self) -> Instant {
        self.host.now()
    }
}

impl<H: Log + ?Sized> Log for Cached<'_, H> {
    fn log(&self, level: Level, message: &str) {
        self.host.log(level, message)
    }
}

impl<H: Scheduler + ?Sized> Scheduler for Cached<'_, H> {
    fn wake_at(&self, at: Option<Instant>) {
        self.host.wake_at(at)
    }
}

impl<H: Notifier + ?Sized> Notifier for Cached<'_, H> {
    fn report(&self, event: &crate::status::CodeEvent) -> Result<(), String> {
        self.host.report(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory_host::{MemoryHost, NoNetwork};

    fn set(k: &str, v: &str) -> Write {
        Write::Set(k.to_string(), v.as_bytes().to_vec())
    }

    fn keys(page: Vec<(String, Vec<u8>)>) -> Vec<String> {
        page.into_iter().map(|(k, _)| k).collect()
    }

    #[test]
    fn a_key_read_again_is_answered_from_memory_and_follows_the_calls_writes() {
        let host = MemoryHost::new(NoNetwork, 0);
        host.apply(vec![set("r/a", "1"), set("other/a", "1")]).unwrap();
        let cached = Cached::new(&host, &["r/"]);
        assert_eq!(cached.get("r/a").unwrap(), Some(b"1".to_vec()));
        let before = host.calls.get();
        assert_eq!(cached.get("r/a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(cached.get("r/a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(host.calls.get() - before, Default::default(), "no storage call for a key it has read");

        cached.apply(vec![set("r/a", "2"), Write::Delete("r/b".into())]).unwrap();
        let before = host.calls.get();
        assert_eq!(cached.get("r/a").unwrap(), Some(b"2".to_vec()));
        assert_eq!(cached.get("r/b").unwrap(), None);
        assert_eq!(host.calls.get() - before, Default::default());

        // A key outside the roots always goes to the host.
        let before = host.calls.get();
        cached.get("other/a").unwrap();
        cached.get("other/a").unwrap();
        assert_eq!((host.calls.get() - before).gets, 2);
    }

    #[test]
    fn a_prefix_listed_whole_is_answered_from_memory_and_follows_the_calls_writes() {
        let host = MemoryHost::new(NoNetwork, 0);
        host.apply(vec![set("r/c/1", "a"), set("r/c/2", "b"), set("r/d/1", "x")]).unwrap();
        let cached = Cached::new(&host, &["r/"]);
        assert_eq!(keys(cached.list("r/c/", None, 5).unwrap()), ["r/c/1", "r/c/2"]);

        cached.apply(vec![Write::Delete("r/c/1".into()), set("r/c/3", "c"), set("r/d/2", "y")]).unwrap();
        let before = host.calls.get();
        assert_eq!(
            cached.list("r/c/", None, 5).unwrap(),
            [("r/c/2".into(), b"b".to_vec()), ("r/c/3".into(), b"c".to_vec())]
        );
        assert_eq!(keys(cached.list("r/c/", None, 1).unwrap()), ["r/c/2"], "the limit still holds");
        assert_eq!(host.calls.get() - before, Default::default());
        // What the host holds is what memory said.
        assert_eq!(keys(host.list("r/c/", None, 5).unwrap()), ["r/c/2", "r/c/3"]);
    }

    #[test]
    fn a_list_cut_by_its_limit_or_starting_later_is_not_remembered() {
        let host = MemoryHost::new(NoNetwork, 0);
        host.apply(vec![set("r/c/1", "a"), set("r/c/2", "b")]).unwrap();
        let cached = Cached::new(&host, &["r/"]);
        cached.list("r/c/", None, 2).unwrap();
        cached.list("r/c/", Some("r/c/1"), 5).unwrap();
        let before = host.calls.get();
        assert_eq!(keys(cached.list("r/c/", None, 5).unwrap()), ["r/c/1", "r/c/2"]);
        assert_eq!((host.calls.get() - before).lists, 1, "a page cut by its limit may not hold every key");
    }

    /// Storage whose batches fail (the host may have carried out part of one).
    struct Failing(MemoryHost<NoNetwork>);
    impl Storage for Failing {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
            self.0.get(key)
        }
        fn apply(&self, writes: Vec<Write>) -> Result<(), StorageError> {
            self.0.apply(writes)?;
            Err(StorageError::Unavailable("connection lost after the commit".into()))
        }
        fn list(&self, p: &str, s: Option<&str>, l: u32) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
            self.0.list(p, s, l)
        }
    }

    #[test]
    fn a_failed_batch_forgets_everything() {
        let host = Failing(MemoryHost::new(NoNetwork, 0));
        host.0.apply(vec![set("r/a", "1"), set("r/c/1", "a")]).unwrap();
        let cached = Cached::new(&host, &["r/"]);
        cached.get("r/a").unwrap();
        cached.list("r/c/", None, 5).unwrap();
        assert!(cached.apply(vec![set("r/a", "2"), set("r/c/2", "b")]).is_err());
        assert_eq!(cached.get("r/a").unwrap(), Some(b"2".to_vec()));
        assert_eq!(keys(cached.list("r/c/", None, 5).unwrap()), ["r/c/1", "r/c/2"]);
    }
}

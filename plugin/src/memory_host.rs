//! An in-memory [`Host`](crate::host::Host) for native unit tests (and the
//! benchmark's second native figure, `native_ratio_test_host`). HTTP goes to
//! whatever [`Http`] is plugged in.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use crate::host::{
    Clock, Http, HttpError, HttpRequest, HttpResponse, Level, Log, Mailer, Notifier, Scheduler, Storage, StorageError,
    Write,
};
use crate::schedule::Instant;
use crate::status::CodeEvent;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMail {
    pub at: Instant,
    pub dedup_key: String,
    pub subject: String,
    pub body: String,
}

pub struct MemoryHost<N: Http> {
    pub http: N,
    pub now: Cell<Instant>,
    pub kv: RefCell<BTreeMap<String, Vec<u8>>>,
    pub mails: RefCell<Vec<SentMail>>,
    pub logs: RefCell<Vec<(Level, String)>>,
    /// The last wake-up the plugin asked for (`None` inside: "nothing scheduled").
    pub wake: Cell<Option<Option<Instant>>>,
    /// Code events the plugin reported (R27), in order.
    pub events: RefCell<Vec<CodeEvent>>,
    /// Once `events` holds this many, a report is refused (a busy host).
    pub event_capacity: Cell<usize>,
    /// Storage reads so far (`get` and `list` calls): what a change costs.
    pub reads: Cell<u64>,
    /// Storage calls and bytes so far, by kind (what crosses the host
    /// boundary: through wasm each call and each byte is copied).
    pub calls: Cell<StorageCalls>,
}

/// Storage calls and the bytes they carried, counted by [`MemoryHost`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StorageCalls {
    pub gets: u64,
    pub lists: u64,
    pub applies: u64,
    /// Values returned by `get` and `list` (keys and values).
    pub bytes_read: u64,
    /// Keys and values sent by `apply`.
    pub bytes_written: u64,
}

impl std::ops::Sub for StorageCalls {
    type Output = StorageCalls;
    fn sub(self, o: StorageCalls) -> StorageCalls {
        StorageCalls {
            gets: self.gets - o.gets,
            lists: self.lists - o.lists,
            applies: self.applies - o.applies,
            bytes_read: self.bytes_read - o.bytes_read,
            bytes_written: self.bytes_written - o.bytes_written,
        }
    }
}

impl<N: Http> MemoryHost<N> {
    fn count(&self, f: impl FnOnce(&mut StorageCalls)) {
        let mut c = self.calls.get();
        f(&mut c);
        self.calls.set(c);
    }
}

impl<N: Http> MemoryHost<N> {
    pub fn new(http: N, now: Instant) -> Self {
        MemoryHost {
            http,
            now: Cell::new(now),
            kv: RefCell::new(BTreeMap::new()),
            mails: RefCell::new(Vec::new()),
            logs: RefCell::new(Vec::new()),
            wake: Cell::new(None),
            events: RefCell::new(Vec::new()),
            event_capacity: Cell::new(usize::MAX),
            reads: Cell::new(0),
            calls: Cell::new(StorageCalls::default()),
        }
    }
}

impl<N: Http> Http for MemoryHost<N> {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.http.send(request)
    }
}

impl<N: Http> Storage for MemoryHost<N> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        self.reads.set(self.reads.get() + 1);
        let value = self.kv.borrow().get(key).cloned();
        let n = value.as_ref().map_or(0, |v| v.len() as u64);
        self.count(|c| {
            c.gets += 1;
            c.bytes_read += n;
        });
        Ok(value)
    }

    fn apply(&self, writes: Vec<Write>) -> Result<(), StorageError> {
        let n: usize = writes
            .iter()
            .map(|w| match w {
                Write::Set(k, v) => k.len() + v.len(),
                Write::Delete(k) => k.len(),
            })
            .sum();
        self.count(|c| {
            c.applies += 1;
            c.bytes_written += n as u64;
        });
        let mut kv = self.kv.borrow_mut();
        for w in writes {
            match w {
                Write::Set(k, v) => {
                    kv.insert(k, v);
                }
                Write::Delete(k) => {
                    kv.remove(&k);
                }
            }
        }
        Ok(())
    }

    fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<(String, Vec<u8>)>, StorageError> {
        use std::ops::Bound;
        self.reads.set(self.reads.get() + 1);
        let kv = self.kv.borrow();
        let lower = match start_after {
            Some(a) if a >= prefix => Bound::Excluded(a.to_string()),
            _ => Bound::Included(prefix.to_string()),
        };
        let page: Vec<(String, Vec<u8>)> = kv
            .range((lower, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit as usize)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let n: usize = page.iter().map(|(k, v)| k.len() + v.len()).sum();
        self.count(|c| {
            c.lists += 1;
            c.bytes_read += n as u64;
        });
        Ok(page)
    }
}

impl<N: Http> Mailer for MemoryHost<N> {
    fn send_to_owner(&self, dedup_key: &str, subject: &str, body: &str) -> Result<(), String> {
        let mut mails = self.mails.borrow_mut();
        if !mails.iter().any(|m| m.dedup_key == dedup_key) {
            mails.push(SentMail {
                at: self.now.get(),
                dedup_key: dedup_key.into(),
                subject: subject.into(),
                body: body.into(),
            });
        }
        Ok(())
    }
}

impl<N: Http> Clock for MemoryHost<N> {
    fn now(&self) -> Instant {
        self.now.get()
    }
}

impl<N: Http> Log for MemoryHost<N> {
    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_string()));
    }
}

impl<N: Http> Scheduler for MemoryHost<N> {
    fn wake_at(&self, at: Option<Instant>) {
        self.wake.set(Some(at));
    }
}

impl<N: Http> Notifier for MemoryHost<N> {
    fn report(&self, event: &CodeEvent) -> Result<(), String> {
        let mut events = self.events.borrow_mut();
        if events.len() >= self.event_capacity.get() {
            return Err("the host is busy".into());
        }
        events.push(event.clone());
        Ok(())
    }
}

/// An [`Http`] that refuses everything (for tests that must make no call).
pub struct NoNetwork;

impl Http for NoNetwork {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        Err(HttpError::Forbidden(format!("no network in this test: {}", request.url)))
    }
}

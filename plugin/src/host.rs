//! The host imports as small traits, so the domain logic runs unchanged in
//! the component (backed by the WIT imports) and natively: on
//! [`crate::memory_host::MemoryHost`] in unit tests, and on a real host's
//! services in the benchmark's native side.

use crate::schedule::Instant;

/// HTTP methods the vendor clients use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Debug, Clone)]
pub struct HttpRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Lower-case header names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// Why no HTTP response came back (a 4xx/5xx is a response, not this).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("the host refused the request: {0}")]
    Forbidden(String),
    #[error("no response within the host's timeout")]
    Timeout,
    #[error("the response was larger than the host allows ({0} bytes)")]
    TooLarge(u64),
    #[error("connection failed: {0}")]
    Transport(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    #[error("storage limit exceeded: {0}")]
    TooLarge(String),
}

/// One write of an atomic batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Set(String, Vec<u8>),
    Delete(String),
}

impl Write {
    /// The key it sets or deletes.
    pub fn key(&self) -> &str {
        match self {
            Write::Set(key, _) | Write::Delete(key) => key,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

pub trait Http {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError>;
}

pub trait Storage {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError>;
    fn apply(&self, writes: Vec<Write>) -> Result<(), StorageError>;
    /// Ascending by key, strictly after `start_after`, at most `limit`.
    fn list(&self, prefix: &str, start_after: Option<&str>, limit: u32)
        -> Result<Vec<(String, Vec<u8>)>, StorageError>;
}

pub trait Mailer {
    /// At most one e-mail per `dedup_key`, ever (the host guarantees it).
    fn send_to_owner(&self, dedup_key: &str, subject: &str, body: &str) -> Result<(), String>;
}

pub trait Clock {
    fn now(&self) -> Instant;
}

pub trait Log {
    fn log(&self, level: Level, message: &str);
}

/// Wake-ups (R21): tells the host when the plugin next needs a tick.
pub trait Scheduler {
    /// The earliest instant with work (`None`: nothing scheduled); replaces
    /// the previous wake-up.
    fn wake_at(&self, at: Option<Instant>);
}

/// Everything the plugin needs from its host.
/// The host's `code-events` import (R27, R28).
pub trait Notifier {
    /// Takes one event; an error keeps it queued for the next export.
    fn report(&self, event: &crate::status::CodeEvent) -> Result<(), String>;
}

pub trait Host: Http + Storage + Mailer + Clock + Log + Scheduler + Notifier {}
impl<T: Http + Storage + Mailer + Clock + Log + Scheduler + Notifier> Host for T {}

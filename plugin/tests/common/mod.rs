//! What the plugin's integration tests share: the faithful Nuki stub as
//! the plugin's HTTP, in-process.

use std::cell::RefCell;

use smartlock_plugin::brands::nuki::API_BASE;
use smartlock_plugin::host::{Http, HttpError, HttpRequest, HttpResponse, Method};
use smartlock_plugin::schedule::Instant;
use smartlock_stubs::nuki::{Nuki, NukiLock, OfflineWrites};
use smartlock_stubs::{Service, StubRequest};

/// The plugin's `HttpRequest` becomes a `StubRequest` for `Service::handle`.
pub struct StubHttp {
    pub stub: Nuki,
    pub sent: RefCell<Vec<HttpRequest>>,
}

impl Http for StubHttp {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        self.sent.borrow_mut().push(request.clone());
        let path = request
            .url
            .strip_prefix(API_BASE)
            .ok_or_else(|| HttpError::Forbidden(format!("not the Nuki API: {}", request.url)))?;
        let method = match request.method {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        };
        let resp = Service::handle(
            &self.stub,
            &StubRequest {
                method: method.into(),
                path_and_query: path.into(),
                headers: request.headers.clone(),
                body: request.body.clone(),
            },
        );
        if resp.status == 0 {
            return Err(HttpError::Timeout);
        }
        Ok(HttpResponse {
            status: resp.status,
            headers: resp.headers.into_iter().map(|(k, v)| (k.to_ascii_lowercase(), v)).collect(),
            body: resp.body,
        })
    }
}

impl StubHttp {
    pub fn new(stub: Nuki) -> StubHttp {
        StubHttp { stub, sent: RefCell::new(Vec::new()) }
    }
}

/// 2026-03-14T23:00:00Z: 00:00 on March 15 in Berlin, when a stay of March
/// 20-22 gets its code (5 days before).
pub const T0: Instant = 1_773_529_200;
/// The stay's window: 2026-03-20T13:30:00Z to 2026-03-22T10:30:00Z.
pub const START: Instant = 1_774_013_400;
pub const END: Instant = 1_774_175_400;

/// A Nuki lock whose writes an offline spell drops, no ghosts, confirming.
pub fn lock(id: &str, name: &str, keypad: bool, online: bool) -> NukiLock {
    NukiLock {
        id: id.into(),
        name: name.into(),
        keypad,
        online,
        offline_writes: OfflineWrites::Drop,
        ghost_deletes: false,
        never_confirm: false,
    }
}

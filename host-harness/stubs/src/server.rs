//! The stub over real HTTP on loopback (tiny_http), one thread per request
//! so that a hung request never blocks the others. Connections are
//! accepted with `TCP_NODELAY` (see [`with_nodelay`]).

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::{Service, StubRequest, StubResponse};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Longest a "hang" fault holds a connection.
pub const MAX_HANG: Duration = Duration::from_secs(120);
/// How long shutdown waits for in-flight (non-hung) requests to finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct Control {
    /// Set by drop: hangs end, new requests get 503, the accept loop exits.
    shutting_down: bool,
    /// Set by `POST /_admin/shutdown` or when the listener dies; ends `wait`.
    stop_requested: bool,
    /// Why the accept loop ended on its own, if it did.
    failure: Option<String>,
    /// Requests being served right now.
    active: usize,
}

struct Shared {
    control: Mutex<Control>,
    changed: Condvar,
}

impl Shared {
    fn control(&self) -> MutexGuard<'_, Control> {
        // Plain flags and a counter: always consistent, so poisoning is moot.
        self.control.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Decrements the active-request count when a worker ends, even by panic.
struct ActiveGuard(Arc<Shared>);

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        self.0.control().active -= 1;
        self.0.changed.notify_all();
    }
}

/// A running stub server on `127.0.0.1`. Dropping it shuts it down: hung
/// requests are answered 503 at once and the listener is closed.
pub struct StubServer<S: Service> {
    stub: S,
    addr: SocketAddr,
    shared: Arc<Shared>,
    http: Arc<tiny_http::Server>,
    accept: Option<JoinHandle<()>>,
}

impl<S: Service> std::fmt::Debug for StubServer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StubServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl<S: Service> StubServer<S> {
    /// Serves `stub` on an ephemeral loopback port.
    pub fn start(stub: S) -> io::Result<StubServer<S>> {
        StubServer::start_on(stub, 0)
    }

    /// Serves `stub` on `127.0.0.1:port` (0 = ephemeral).
    pub fn start_on(stub: S, port: u16) -> io::Result<StubServer<S>> {
        let listener = with_nodelay(TcpListener::bind(("127.0.0.1", port))?)?;
        let addr = listener.local_addr()?;
        let http = tiny_http::Server::from_listener(listener, None).map_err(io::Error::other)?;
        let http = Arc::new(http);
        let shared = Arc::new(Shared { control: Mutex::new(Control::default()), changed: Condvar::new() });
        let accept = {
            let (http, shared, stub) = (http.clone(), shared.clone(), stub.clone());
            thread::Builder::new().name("stub-accept".into()).spawn(move || accept_loop(&http, &shared, &stub))?
        };
        tracing::debug!(%addr, "stub listening");
        Ok(StubServer { stub, addr, shared, http, accept: Some(accept) })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: every vendor origin the stub serves is
    /// routed here.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The stub being served (to drive its clock, faults, ...).
    pub fn stub(&self) -> &S {
        &self.stub
    }

    /// Blocks until `POST /_admin/shutdown` is received (`Ok`) or the
    /// listener fails (`Err`).
    pub fn wait(&self) -> io::Result<()> {
        let mut c = self.shared.control();
        while !c.stop_requested {
            c = self.shared.changed.wait(c).unwrap_or_else(|e| e.into_inner());
        }
        match c.failure.take() {
            Some(f) => Err(io::Error::other(f)),
            None => Ok(()),
        }
    }
}

impl<S: Service> Drop for StubServer<S> {
    fn drop(&mut self) {
        self.shared.control().shutting_down = true;
        self.shared.changed.notify_all();
        self.http.unblock();
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
        // Hangs wake up on `shutting_down`; only a client that stalls midway
        // through sending its body could keep a worker, so bound the wait
        // and leave such a thread detached.
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut c = self.shared.control();
        while c.active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                tracing::warn!(active = c.active, "stub: workers still busy at shutdown");
                break;
            }
            c = match self.shared.changed.wait_timeout(c, left) {
                Ok((c, _)) => c,
                Err(e) => e.into_inner().0,
            };
        }
        // `self.http` is dropped after this, closing the listening socket.
    }
}

/// Sets `TCP_NODELAY` on the listening socket; the connections accepted
/// from it inherit it (Linux does; the test below checks it on the platform
/// it runs on). tiny_http 0.12 accepts connections itself and
/// has no setting for it, and without it a response larger than its 1 KiB
/// write buffer leaves in two writes, the second held back (Nagle) until
/// the client's delayed ACK of the first: about 40 ms per such response on
/// a kept-alive connection. std sets the option only through a stream, so
/// the listening socket is handled as one for that call (a plain
/// `setsockopt`), then handed back as the listener it is.
#[cfg(unix)]
fn with_nodelay(listener: TcpListener) -> io::Result<TcpListener> {
    use std::os::fd::OwnedFd;
    let socket = std::net::TcpStream::from(OwnedFd::from(listener));
    socket.set_nodelay(true)?;
    Ok(TcpListener::from(OwnedFd::from(socket)))
}

#[cfg(windows)]
fn with_nodelay(listener: TcpListener) -> io::Result<TcpListener> {
    use std::os::windows::io::OwnedSocket;
    let socket = std::net::TcpStream::from(OwnedSocket::from(listener));
    socket.set_nodelay(true)?;
    Ok(TcpListener::from(OwnedSocket::from(socket)))
}

#[cfg(not(any(unix, windows)))]
fn with_nodelay(listener: TcpListener) -> io::Result<TcpListener> {
    Ok(listener)
}

fn accept_loop<S: Service>(http: &tiny_http::Server, shared: &Arc<Shared>, stub: &S) {
    loop {
        let rq = match http.recv() {
            Ok(rq) => rq,
            Err(e) => {
                // Either our own unblock() at shutdown or a dead listener.
                let mut c = shared.control();
                if !c.shutting_down {
                    tracing::error!(error = %e, "stub: listener failed");
                    c.failure = Some(format!("stub listener failed: {e}"));
                    c.stop_requested = true;
                    drop(c);
                    shared.changed.notify_all();
                }
                return;
            }
        };
        {
            let mut c = shared.control();
            if c.shutting_down {
                drop(c);
                let _ = rq.respond(to_tiny(&shutting_down_response()));
                return;
            }
            c.active += 1;
        }
        let guard = ActiveGuard(shared.clone());
        let (shared2, stub2) = (shared.clone(), stub.clone());
        // The request moves into the worker; if the thread cannot be
        // spawned it is dropped, which tiny_http answers with a 500.
        let spawned = thread::Builder::new().name("stub-req".into()).spawn(move || {
            let _guard = guard;
            serve_one(&stub2, &shared2, rq);
        });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "stub: cannot spawn a worker thread");
        }
    }
}

fn shutting_down_response() -> StubResponse {
    StubResponse::json(503, &json!({"message": "stub server is shutting down"}))
}

fn serve_one<S: Service>(stub: &S, shared: &Shared, mut rq: tiny_http::Request) {
    let mut req = StubRequest {
        method: rq.method().to_string(),
        path_and_query: rq.url().to_string(),
        headers: rq
            .headers()
            .iter()
            .map(|h| (h.field.as_str().as_str().to_string(), h.value.as_str().to_string()))
            .collect(),
        body: Vec::new(),
    };

    let too_large = rq.body_length().is_some_and(|n| n > MAX_BODY_BYTES);
    let resp = if too_large {
        Some(StubResponse::json(413, &json!({"message": "request body too large"})))
    } else {
        // Read one byte past the limit to detect an oversized chunked body.
        let limit = MAX_BODY_BYTES as u64 + 1;
        match rq.as_reader().take(limit).read_to_end(&mut req.body) {
            Ok(_) if req.body.len() > MAX_BODY_BYTES => {
                Some(StubResponse::json(413, &json!({"message": "request body too large"})))
            }
            Ok(_) => None,
            Err(e) => Some(StubResponse::json(400, &json!({"message": format!("cannot read request body: {e}")}))),
        }
    };
    let resp = match resp {
        Some(early) => {
            stub.count_refused(&req.path_and_query);
            early
        }
        None if req.method.eq_ignore_ascii_case("POST")
            && req.path_and_query.split('?').next() == Some("/_admin/shutdown") =>
        {
            {
                let mut c = shared.control();
                c.stop_requested = true;
            }
            shared.changed.notify_all();
            StubResponse::json(200, &json!({"stopping": true}))
        }
        None => stub.handle(&req),
    };

    let resp = if resp.status == 0 { hang(shared) } else { resp };
    if let Err(e) = rq.respond(to_tiny(&resp)) {
        // The client gave up (e.g. timed out during a hang): nothing to do.
        tracing::debug!(error = %e, "stub: response not delivered");
    }
}

/// Holds the request until shutdown or [`MAX_HANG`], then says why it ended.
fn hang(shared: &Shared) -> StubResponse {
    let deadline = Instant::now() + MAX_HANG;
    let mut c = shared.control();
    while !c.shutting_down {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return StubResponse::json(504, &json!({"message": "Endpoint request timed out"}));
        }
        c = match shared.changed.wait_timeout(c, left) {
            Ok((c, _)) => c,
            Err(e) => e.into_inner().0,
        };
    }
    shutting_down_response()
}

fn to_tiny(resp: &StubResponse) -> tiny_http::Response<io::Cursor<Vec<u8>>> {
    let mut out = tiny_http::Response::from_data(resp.body.clone()).with_status_code(resp.status);
    for (k, v) in &resp.headers {
        match tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()) {
            Ok(h) => out.add_header(h),
            Err(()) => {
                tracing::warn!(header = %k, "stub: unrepresentable header dropped")
            }
        }
    }
    out
}

/// Runs a stub as a process of its own (`host-harness stub`): prints its
/// base URL as one line on stdout, then serves until `POST /_admin/shutdown`.
/// Driven through the `/_admin/` routes (see the `admin` module).
pub fn serve_forever<S: Service>(stub: S, port: u16) -> io::Result<()> {
    let server = StubServer::start_on(stub, port)?;
    let mut out = io::stdout().lock();
    writeln!(out, "{}", server.base_url())?;
    out.flush()?;
    drop(out);
    tracing::info!(url = %server.base_url(), "stub serving");
    server.wait()
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream};

    use super::with_nodelay;

    /// What the stub server relies on: a connection accepted from a
    /// listener made by [`with_nodelay`] has `TCP_NODELAY` set.
    #[test]
    fn connections_accepted_from_the_listener_have_nodelay() {
        let listener = with_nodelay(TcpListener::bind(("127.0.0.1", 0)).expect("bind")).expect("nodelay");
        let _client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        let (accepted, _) = listener.accept().expect("accept");
        assert!(accepted.nodelay().expect("read TCP_NODELAY"), "the accepted connection does not have TCP_NODELAY");
    }
}

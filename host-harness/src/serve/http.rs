//! The HTTP side: hyper's HTTP/1 server on a small tokio runtime, axum for
//! the service, tower-http for the body read timeout and http-body-util's
//! `Limited` (through `axum::body::to_bytes`) for the body limit.
//! The API itself ([`api::handle`]) is synchronous (plugin calls block), so
//! each request runs on tokio's blocking pool; a slow or idle client costs
//! a task, never a thread.
//!
//! Limits (R32), all enforced before the API sees a request:
//! - at most [`Limits::max_connections`] connections at once; more wait in
//!   the kernel's backlog until one closes;
//! - the request line and headers together at most [`MAX_HEAD_BYTES`]
//!   (hyper answers 414/431 and closes);
//! - the whole head must arrive within [`Limits::read_timeout`], and an idle
//!   kept-alive connection is closed after the same time;
//! - a body at most [`MAX_BODY_BYTES`]: a larger `Content-Length` is refused
//!   (413) before a byte of the body is read, a chunked body is cut off at
//!   the limit; nothing is drained, the connection is closed instead;
//! - the body must arrive within [`Limits::read_timeout`] (408).
//!
//! Checks on where a request comes from:
//! - `Host` must name this server (`127.0.0.1:PORT` or `localhost:PORT`;
//!   the port may be left out on port 80), so a page on another site cannot
//!   reach it by DNS rebinding (421);
//! - a request that changes something and carries an `Origin` must come
//!   from the panel's own origin (403): no cross-site form posts;
//! - a body, when present, must be JSON (415).

use std::io;
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tokio::sync::{watch, Semaphore};
use tower_http::timeout::RequestBodyTimeoutLayer;

use super::api::{self, Reply, Request};
use super::host::Host;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Largest request head (request line and headers) accepted; hyper's
/// smallest read buffer.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Longest path written to the debug log.
const MAX_LOGGED_PATH: usize = 200;

/// The HTTP limits an operator may set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// How long a client may take to send a request's head or its body, and
    /// how long a kept-alive connection may stay idle.
    pub read_timeout: Duration,
    /// Plugin calls (and other blocking work) running at once; more wait.
    pub blocking_threads: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_connections: 256, read_timeout: Duration::from_secs(10), blocking_threads: 16 }
    }
}

/// A running API server.
pub struct HttpServer {
    addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
    stop: watch::Sender<bool>,
}

/// What every request handler shares.
#[derive(Clone)]
struct Shared {
    host: Arc<Host>,
    port: u16,
}

impl HttpServer {
    /// Serves `host` on `127.0.0.1:port` (0: any free port).
    pub fn start(host: Arc<Host>, port: u16, limits: Limits) -> io::Result<HttpServer> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(limits.blocking_threads.max(1))
            .thread_name("serve-http")
            .enable_io()
            .enable_time()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let app = Router::new()
            .fallback(serve_one)
            .with_state(Shared { host, port: addr.port() })
            .layer(RequestBodyTimeoutLayer::new(limits.read_timeout));
        let (stop, stopped) = watch::channel(false);
        runtime.spawn(accept_loop(listener, app, limits, stopped));
        Ok(HttpServer { addr, runtime: Some(runtime), stop })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Blocks while the server runs.
    pub fn wait(&mut self) {
        if let Some(runtime) = &self.runtime {
            let mut stopped = self.stop.subscribe();
            runtime.block_on(async move {
                while !*stopped.borrow_and_update() {
                    if stopped.changed().await.is_err() {
                        break;
                    }
                }
            });
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// Accepts connections while fewer than the limit are open, each served by
/// hyper with the head size and header timeout bounded.
async fn accept_loop(
    listener: tokio::net::TcpListener,
    app: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.read_timeout).max_buf_size(MAX_HEAD_BYTES);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot { Ok(s) => s, Err(_) => return },
            _ = stopped.changed() => return,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, a connection reset before accept:
                // wait a little rather than spin.
                tracing::warn!(error = %e, "could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app.clone()));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(slot);
        });
    }
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `host` (the `Host` header) names this server.
fn allowed_host(host: &str, port: u16) -> bool {
    let names = ["127.0.0.1", "localhost"];
    names.iter().any(|n| host == format!("{n}:{port}") || (port == 80 && host == *n))
}

/// Whether `origin` (the `Origin` header) is the panel's own.
fn allowed_origin(origin: &str, port: u16) -> bool {
    let names = ["127.0.0.1", "localhost"];
    names.iter().any(|n| origin == format!("http://{n}:{port}") || (port == 80 && origin == format!("http://{n}")))
}

fn refuse(status: u16, kind: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"error": message, "kind": kind}))
}

/// Splits the path into percent-decoded segments; `None` if one is not UTF-8.
fn segments(path: &str) -> Option<Vec<String>> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned()))
        .collect()
}

/// Splits a query into percent-decoded `name=value` pairs (`+` is a
/// space); `None` if one is not UTF-8.
fn query(query: &str) -> Option<Vec<(String, String)>> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s).decode_utf8().ok().map(|c| c.into_owned())
    };
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

/// Checks the head, then reads the body within the limits.
async fn prepare(port: u16, request: axum::extract::Request) -> Result<Request, Reply> {
    let (parts, body) = request.into_parts();
    let method = if parts.method == Method::HEAD { "GET".to_string() } else { parts.method.as_str().to_string() };
    // A `Host` that is not this server, or not text at all, is refused.
    if parts.headers.get(header::HOST).is_some_and(|h| !h.to_str().is_ok_and(|h| allowed_host(h, port))) {
        return Err(refuse(421, "wrong_host", "this server answers only as 127.0.0.1 or localhost on its own port"));
    }
    if method != "GET"
        && parts.headers.get(header::ORIGIN).is_some_and(|o| !o.to_str().is_ok_and(|o| allowed_origin(o, port)))
    {
        return Err(refuse(403, "cross_origin", "requests from other sites are not accepted"));
    }
    let too_large = || refuse(413, "too_large", &format!("the request body must be at most {MAX_BODY_BYTES} bytes"));
    let declared = header_str(&parts.headers, header::CONTENT_LENGTH).map(|v| v.trim().parse::<u64>());
    match declared {
        Some(Ok(n)) if n > MAX_BODY_BYTES as u64 => return Err(too_large()),
        Some(Err(_)) => return Err(refuse(400, "bad_request", "the Content-Length header is not a number")),
        _ => {}
    }
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes.to_vec(),
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if s.is::<http_body_util::LengthLimitError>() {
                    return Err(too_large());
                }
                source = s.source();
            }
            tracing::debug!(error = %e, "request body not received");
            return Err(refuse(408, "request_timeout", "the request body did not arrive in time"));
        }
    };
    let json = header_str(&parts.headers, header::CONTENT_TYPE)
        .is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"));
    if !body.is_empty() && !json {
        return Err(refuse(
            415,
            "unsupported_media_type",
            "the request body must be JSON (Content-Type: application/json)",
        ));
    }
    let Some(segments) = segments(parts.uri.path()) else {
        return Err(refuse(400, "bad_request", "the path is not valid UTF-8 once percent-decoded"));
    };
    let Some(query) = query(parts.uri.query().unwrap_or("")) else {
        return Err(refuse(400, "bad_request", "the query is not valid UTF-8 once percent-decoded"));
    };
    let authorization = header_str(&parts.headers, header::AUTHORIZATION).map(str::to_string);
    Ok(Request { method, segments, query, authorization, body })
}

/// Reads, checks and answers one request; the API runs on the blocking pool.
async fn serve_one(State(shared): State<Shared>, request: axum::extract::Request) -> Response {
    let method = request.method().clone();
    let mut path = request.uri().path().to_string();
    if path.len() > MAX_LOGGED_PATH {
        let mut end = MAX_LOGGED_PATH;
        while !path.is_char_boundary(end) {
            end -= 1;
        }
        path.truncate(end);
        path.push('…');
    }
    let reply = match prepare(shared.port, request).await {
        Ok(req) => {
            let host = shared.host.clone();
            let handled =
                tokio::task::spawn_blocking(move || catch_unwind(AssertUnwindSafe(|| api::handle(&host, &req))));
            match handled.await {
                Ok(Ok(reply)) => reply,
                _ => {
                    tracing::error!(%method, path, "API handler panicked");
                    refuse(500, "internal_error", "the host failed while handling this request")
                }
            }
        }
        Err(reply) => reply,
    };
    // The path holds ids only; bodies and headers (credentials) are never logged.
    tracing::debug!(%method, path, status = reply.status, "request");
    response(reply)
}

fn response(reply: Reply) -> Response {
    let mut response = Response::new(Body::from(reply.body));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(header::CONTENT_TYPE, reply.content_type);
    set(header::CACHE_CONTROL, "no-store");
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    if reply.content_type.starts_with("text/html") {
        set(
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        );
    }
    if reply.status == 401 {
        set(header::WWW_AUTHENTICATE, "Bearer");
    }
    if reply.status == 408 || reply.status == 413 {
        // The rest of the body is not read: the connection cannot be reused.
        set(header::CONNECTION, "close");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_then_decoded() {
        assert_eq!(segments("/api/tenants/t/properties/a%2Fb").unwrap(), ["api", "tenants", "t", "properties", "a/b"]);
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
        assert!(segments("/%FF").is_none());
        assert_eq!(query("after=3&limit=10").unwrap(), [("after".into(), "3".into()), ("limit".into(), "10".into())]);
        assert_eq!(query("a+b=%2F&&x").unwrap(), [("a b".into(), "/".into()), ("x".into(), String::new())]);
        assert!(query("a=%FF").is_none());
    }

    #[test]
    fn only_this_server_is_a_host_or_an_origin() {
        assert!(allowed_host("127.0.0.1:8080", 8080));
        assert!(allowed_host("localhost:8080", 8080));
        assert!(!allowed_host("evil.example:8080", 8080));
        assert!(!allowed_host("127.0.0.1:8081", 8080));
        assert!(!allowed_host("127.0.0.1", 8080), "the port may be left out on port 80 only");
        assert!(allowed_host("127.0.0.1", 80));
        assert!(allowed_host("localhost:80", 80));
        assert!(allowed_origin("http://127.0.0.1:8080", 8080));
        assert!(allowed_origin("http://localhost", 80));
        assert!(!allowed_origin("http://evil.example", 8080));
    }
}

//! The HTTP side (tiny_http on 127.0.0.1, a pool of worker threads): reads
//! a request, checks where it comes from, hands it to [`api::handle`] and
//! writes the answer with the panel's security headers.
//!
//! Checks before the API sees a request:
//! - `Host` must name this server (`127.0.0.1:PORT` or `localhost:PORT`),
//!   so a page on another site cannot reach it by DNS rebinding (421);
//! - a request that changes something and carries an `Origin` must come
//!   from the panel's own origin (403): no cross-site form posts;
//! - a body is at most [`MAX_BODY_BYTES`] (413) and, when present, JSON (415).

use std::io::{self, Read as _};
use std::net::{SocketAddr, TcpListener};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use serde_json::json;

use super::api::{self, Reply, Request};
use super::host::Host;

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Requests served at once (a connect may wait on the vendor for seconds).
const WORKERS: usize = 16;

/// A running API server.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    workers: Vec<JoinHandle<()>>,
}

impl HttpServer {
    /// Serves `host` on `127.0.0.1:port` (0: any free port).
    pub fn start(host: Arc<Host>, port: u16) -> io::Result<HttpServer> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let addr = listener.local_addr()?;
        let server = Arc::new(tiny_http::Server::from_listener(listener, None).map_err(io::Error::other)?);
        let mut workers = Vec::with_capacity(WORKERS);
        for i in 0..WORKERS {
            let (server, host) = (server.clone(), host.clone());
            let worker = thread::Builder::new().name(format!("serve-http-{i}")).spawn(move || {
                while let Ok(request) = server.recv() {
                    serve_one(&host, addr.port(), request);
                }
            })?;
            workers.push(worker);
        }
        Ok(HttpServer { server, addr, workers })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Blocks while the server runs.
    pub fn wait(&mut self) {
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        self.wait();
    }
}

fn header(request: &tiny_http::Request, name: &'static str) -> Option<String> {
    request.headers().iter().find(|h| h.field.equiv(name)).map(|h| h.value.as_str().to_string())
}

fn allowed_host(host: &str, port: u16) -> bool {
    host == format!("127.0.0.1:{port}") || host == format!("localhost:{port}")
}

fn allowed_origin(origin: &str, port: u16) -> bool {
    origin == format!("http://127.0.0.1:{port}") || origin == format!("http://localhost:{port}")
}

fn refuse(status: u16, kind: &str, message: &str) -> Reply {
    Reply::json(status, &json!({"error": message, "kind": kind}))
}

/// Splits the path into percent-decoded segments; `None` if one is not UTF-8.
fn segments(url: &str) -> Option<Vec<String>> {
    let path = url.split(['?', '#']).next().unwrap_or("");
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|c| c.into_owned()))
        .collect()
}

/// Reads, checks and answers one request.
fn prepare(port: u16, request: &mut tiny_http::Request) -> Result<Request, Reply> {
    let mut method = request.method().as_str().to_ascii_uppercase();
    if method == "HEAD" {
        method = "GET".into();
    }
    if header(request, "Host").is_some_and(|h| !allowed_host(&h, port)) {
        return Err(refuse(421, "wrong_host", "this server answers only as 127.0.0.1 or localhost on its own port"));
    }
    if method != "GET" && header(request, "Origin").is_some_and(|o| !allowed_origin(&o, port)) {
        return Err(refuse(403, "cross_origin", "requests from other sites are not accepted"));
    }
    let mut body = Vec::new();
    let limit = MAX_BODY_BYTES as u64 + 1;
    if request.as_reader().take(limit).read_to_end(&mut body).is_err() {
        return Err(refuse(400, "bad_request", "the request body could not be read"));
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(refuse(413, "too_large", &format!("the request body must be at most {MAX_BODY_BYTES} bytes")));
    }
    let json = header(request, "Content-Type").is_some_and(|c| c.to_ascii_lowercase().starts_with("application/json"));
    if !body.is_empty() && !json {
        return Err(refuse(
            415,
            "unsupported_media_type",
            "the request body must be JSON (Content-Type: application/json)",
        ));
    }
    let Some(segments) = segments(request.url()) else {
        return Err(refuse(400, "bad_request", "the path is not valid UTF-8 once percent-decoded"));
    };
    Ok(Request { method, segments, authorization: header(request, "Authorization"), body })
}

fn serve_one(host: &Host, port: u16, mut request: tiny_http::Request) {
    let reply = match prepare(port, &mut request) {
        Ok(req) => catch_unwind(AssertUnwindSafe(|| api::handle(host, &req))).unwrap_or_else(|_| {
            tracing::error!(method = %request.method(), "API handler panicked");
            refuse(500, "internal_error", "the host failed while handling this request")
        }),
        Err(reply) => reply,
    };
    // The path holds ids only; bodies and headers (credentials) are never logged.
    let path = request.url().split('?').next().unwrap_or("").to_string();
    tracing::debug!(method = %request.method(), path, status = reply.status, "request");
    let mut response = tiny_http::Response::from_data(reply.body).with_status_code(reply.status);
    let mut headers = vec![
        ("Content-Type", reply.content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("X-Frame-Options", "DENY"),
    ];
    if reply.content_type.starts_with("text/html") {
        headers.push((
            "Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ));
    }
    if reply.status == 401 {
        headers.push(("WWW-Authenticate", "Bearer"));
    }
    for (name, value) in headers {
        if let Ok(h) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(h);
        }
    }
    if let Err(e) = request.respond(response) {
        tracing::debug!(error = %e, "could not send the answer");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_split_then_decoded() {
        assert_eq!(
            segments("/api/tenants/t/properties/a%2Fb?x=1").unwrap(),
            ["api", "tenants", "t", "properties", "a/b"]
        );
        assert_eq!(segments("/").unwrap(), Vec::<String>::new());
        assert!(segments("/%FF").is_none());
    }

    #[test]
    fn only_this_server_is_a_host_or_an_origin() {
        assert!(allowed_host("127.0.0.1:8080", 8080));
        assert!(allowed_host("localhost:8080", 8080));
        assert!(!allowed_host("evil.example:8080", 8080));
        assert!(!allowed_host("127.0.0.1:8081", 8080));
        assert!(allowed_origin("http://127.0.0.1:8080", 8080));
        assert!(!allowed_origin("http://evil.example", 8080));
    }
}

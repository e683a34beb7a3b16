//! The `http` import: outgoing requests to the tenant's brand hosts only.
//!
//! The plugin always names the brands' real URLs (their `origins`, as the
//! `brands` export lists them). The tenant's [`VendorRoutes`] is the
//! allow-list: each origin the tenant may reach and the base URL the host
//! actually sends it to (itself in production, a stub's or a proxy's address
//! elsewhere). By default ([`Tenant::new`](crate::Tenant::new)) it is
//! [`VendorRoutes::all_brands`]: every origin of every brand the loaded
//! component lists, each sent to itself — this library names no brand. A
//! URL of any other origin is refused with `forbidden` before any
//! connection is made. The request then goes to the tenant's
//! [`HttpBackend`] ([`UreqBackend`] for real), which applies a timeout and a
//! response size cap, follows no redirects and returns 4xx/5xx as responses.
//!
//! Requests are logged at debug with method, origin, path, status and time;
//! never headers, query or bodies (the token request carries the client
//! secret).

use std::time::{Duration, Instant};

use ureq::config::AutoHeaderValue;
use ureq::http::Uri;

use crate::bindings::api::BrandInfo;
use crate::bindings::generated::pms::smartlock::http as wit;
use crate::SmartlockCtx;

/// The methods the plugin may use (the WIT `method` enum); nothing else
/// reaches a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `PUT`.
    Put,
    /// `DELETE`.
    Delete,
}

impl HttpMethod {
    /// The method as it goes on the wire and in the logs (`"GET"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// A request that passed the allow-list, addressed to its routed URL.
#[derive(Debug, Clone)]
pub struct HttpRequest {
    /// The plugin's method.
    pub method: HttpMethod,
    /// The absolute URL after routing: the route's base plus the plugin's
    /// path and query (e.g. the stub's `http://127.0.0.1:8080/oauth2/token`).
    pub url: String,
    /// The plugin's headers, as it wrote them; they may hold credentials
    /// (`authorization`), so a backend must not log them. A backend adds
    /// only `Host` and `Content-Length`, as the WIT contract promises.
    pub headers: Vec<(String, String)>,
    /// The request body (the token request's carries the client secret).
    pub body: Vec<u8>,
    /// The whole exchange must finish within this (the backend may be
    /// stricter): what is left of the call's wall time
    /// ([`RuntimeConfig::call_wall_limit`](crate::RuntimeConfig::call_wall_limit)).
    pub timeout: Duration,
}

/// A complete response, handed to the plugin as is: any status, 4xx and
/// 5xx included (the plugin decides what they mean).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The HTTP status code; redirects (3xx) are returned, not followed.
    pub status: u16,
    /// Header names and values; names must be lower-case (the WIT contract
    /// promises the plugin lower-case names).
    pub headers: Vec<(String, String)>,
    /// The whole body, at most the backend's size cap.
    pub body: Vec<u8>,
}

/// Why no response came back (a 4xx or 5xx is a response).
///
/// The plugin receives it as the WIT `http-error` of the same name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The URL's origin (or scheme, or embedded credentials) is not allowed
    /// by the tenant's [`VendorRoutes`]; no connection was made. The message
    /// never holds the path or query.
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// No complete response within the request's timeout, or the call's
    /// wall time was already spent so the request was not sent.
    #[error("timeout")]
    Timeout,
    /// The response body exceeded the backend's cap, in bytes
    /// ([`UreqConfig::max_response_bytes`]).
    #[error("response larger than {0} bytes")]
    TooLarge(u64),
    /// Bad URL, connection refused, DNS, TLS or protocol failure.
    #[error("transport: {0}")]
    Transport(String),
}

/// Sends requests that the import has already checked and routed.
///
/// The allow-list is applied before a backend is asked, so an implementation
/// (a test double, a PMS's own HTTP stack with its proxy or metrics) need not
/// check URLs again. One backend may be shared by many tenants and called
/// from several threads at once.
pub trait HttpBackend: Send + Sync {
    /// Sends one request and waits for the whole response.
    ///
    /// Contract: finish within [`HttpRequest::timeout`] (else
    /// [`HttpError::Timeout`]); follow no redirects; return 4xx/5xx as
    /// `Ok`; lower-case the response header names; never log headers or
    /// bodies. The time spent here is not counted against the plugin's
    /// time limit, only against the call's wall time.
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError>;
}

/// Settings of the real HTTP client.
#[derive(Debug, Clone)]
pub struct UreqConfig {
    /// Longest a whole exchange may take (default 10 s).
    pub timeout: Duration,
    /// Largest response body accepted (default 1 MiB); more is `too-large`.
    pub max_response_bytes: u64,
}

impl Default for UreqConfig {
    fn default() -> Self {
        UreqConfig { timeout: Duration::from_secs(10), max_response_bytes: 1024 * 1024 }
    }
}

/// The real HTTP client: ureq with rustls and the webpki roots.
#[derive(Debug)]
pub struct UreqBackend {
    agent: ureq::Agent,
    config: UreqConfig,
}

impl UreqBackend {
    /// A client with `config`: no proxy (the environment's proxy settings are
    /// ignored), no redirects, and no `User-Agent`, `Accept` or
    /// `Accept-Encoding` added. Build one and share it: it pools connections.
    /// [`Tenant::new`](crate::Tenant::new) already shares one with the
    /// default settings.
    pub fn new(config: UreqConfig) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(AutoHeaderValue::None)
            .accept(AutoHeaderValue::None)
            .accept_encoding(AutoHeaderValue::None)
            .timeout_global(Some(config.timeout))
            .build()
            .new_agent();
        UreqBackend { agent, config }
    }

    /// The settings this client was built with: the timeout ceiling and
    /// the response size cap applied to every request.
    pub fn config(&self) -> &UreqConfig {
        &self.config
    }
}

impl Default for UreqBackend {
    fn default() -> Self {
        Self::new(UreqConfig::default())
    }
}

fn map_ureq_error(e: ureq::Error, max_body: u64) -> HttpError {
    match e {
        ureq::Error::Timeout(_) => HttpError::Timeout,
        ureq::Error::Io(io) if matches!(io.kind(), std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock) => {
            HttpError::Timeout
        }
        ureq::Error::BodyExceedsLimit(_) => HttpError::TooLarge(max_body),
        other => HttpError::Transport(other.to_string()),
    }
}

impl HttpBackend for UreqBackend {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
        let mut builder = ureq::http::Request::builder().method(request.method.as_str()).uri(request.url.as_str());
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request =
            builder.body(request.body.clone()).map_err(|e| HttpError::Transport(format!("bad request: {e}")))?;
        let timeout = request.timeout.min(self.config.timeout);
        let http_request = self.agent.configure_request(http_request).timeout_global(Some(timeout)).build();
        let max_body = self.config.max_response_bytes;
        let mut response = self.agent.run(http_request).map_err(|e| map_ureq_error(e, max_body))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect();
        let body =
            response.body_mut().with_config().limit(max_body).read_to_vec().map_err(|e| map_ureq_error(e, max_body))?;
        Ok(HttpResponse { status, headers, body })
    }
}

/// The brand origins a tenant may reach and where each one is sent: the
/// HTTP allow-list. Empty ([`VendorRoutes::new`], `Default`) allows nothing;
/// a [`Tenant`](crate::Tenant) starts with [`VendorRoutes::all_brands`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorRoutes {
    /// (origin as `scheme://host[:port]`, base URL without trailing slash).
    routes: Vec<(String, String)>,
    /// Every origin the component's brands list, each to itself, on top of
    /// `routes` (filled in by [`Runtime::tenant`](crate::Runtime::tenant)).
    all_brands: bool,
}

/// A parsed absolute URL, split into what the allow-list and the log need.
struct Target {
    origin: String,
    host: String,
    path: String,
    path_and_query: String,
}

fn parse_target(url: &str) -> Result<Target, HttpError> {
    let uri: Uri = url.parse().map_err(|e| HttpError::Transport(format!("bad URL: {e}")))?;
    let scheme = uri.scheme_str().map(str::to_ascii_lowercase).unwrap_or_default();
    let authority = uri.authority().ok_or_else(|| HttpError::Transport("bad URL: not absolute".to_owned()))?;
    let host = authority.host().to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(HttpError::Forbidden(format!("scheme {scheme:?} is not allowed")));
    }
    if authority.as_str().contains('@') {
        return Err(HttpError::Forbidden(format!("credentials in the URL of host {host} are not allowed")));
    }
    let default_port = if scheme == "https" { 443 } else { 80 };
    let origin = match authority.port_u16() {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    };
    let path_and_query = uri.path_and_query().map(|pq| pq.as_str()).unwrap_or("/");
    let path_and_query = if path_and_query.is_empty() { "/" } else { path_and_query }.to_owned();
    Ok(Target { origin, host, path: uri.path().to_owned(), path_and_query })
}

impl VendorRoutes {
    /// Allows nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every origin of every brand of the loaded component, each sent to
    /// itself (https on port 443 only): the default allow-list of
    /// [`Tenant::new`](crate::Tenant::new). Any other URL (another host,
    /// scheme or port) is `forbidden` and never connected to.
    pub fn all_brands() -> Self {
        VendorRoutes { routes: Vec::new(), all_brands: true }
    }

    /// Every origin of `brands` (as [`Runtime::brands`](crate::Runtime::brands)
    /// lists them), each sent to `base_of(brand id)`, or to itself when that
    /// is `None`.
    pub fn from_brands(brands: &[BrandInfo], base_of: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut routes = Self::new();
        for brand in brands {
            routes.route_brand(brand, base_of(&brand.id).as_deref())?;
        }
        Ok(routes)
    }

    /// Allows every origin of `brand`, sent to `base` (a proxy, a stub; the
    /// brand's paths follow it) or to itself (`None`).
    pub fn route_brand(&mut self, brand: &BrandInfo, base: Option<&str>) -> anyhow::Result<()> {
        for origin in &brand.origins {
            self.insert(origin, base.unwrap_or(origin))?;
        }
        Ok(())
    }

    /// The routes with [`VendorRoutes::all_brands`] spelled out for these brands.
    pub(crate) fn expanded(&self, brands: &[BrandInfo]) -> anyhow::Result<Self> {
        if !self.all_brands {
            return Ok(self.clone());
        }
        let mut out = Self::from_brands(brands, |_| None)?;
        for (origin, base) in &self.routes {
            out.insert(origin, base)?;
        }
        Ok(out)
    }

    /// Allows `origin` (`scheme://host[:port]`) and sends its requests to
    /// `base` (`scheme://host[:port][/path-prefix]`), replacing any earlier
    /// route of that origin.
    pub fn insert(&mut self, origin: &str, base: &str) -> anyhow::Result<()> {
        let parsed = parse_target(origin).map_err(|e| anyhow::anyhow!("vendor origin {origin:?}: {e}"))?;
        anyhow::ensure!(parsed.path_and_query == "/", "vendor origin {origin:?} must not have a path");
        let base_target = parse_target(base).map_err(|e| anyhow::anyhow!("route base {base:?}: {e}"))?;
        anyhow::ensure!(!base_target.path_and_query.contains('?'), "route base {base:?} must not have a query");
        let base = format!("{}{}", base_target.origin, base_target.path.trim_end_matches('/'));
        self.routes.retain(|(o, _)| *o != parsed.origin);
        self.routes.push((parsed.origin, base));
        Ok(())
    }

    /// The allowed origins.
    pub fn origins(&self) -> impl Iterator<Item = &str> {
        self.routes.iter().map(|(origin, _)| origin.as_str())
    }

    /// The URL to send `url` to, or `forbidden` when its origin is not
    /// allowed.
    pub fn resolve(&self, url: &str) -> Result<String, HttpError> {
        let target = parse_target(url)?;
        self.route(&target)
    }

    fn route(&self, target: &Target) -> Result<String, HttpError> {
        self.routes
            .iter()
            .find(|(origin, _)| *origin == target.origin)
            .map(|(_, base)| format!("{base}{}", target.path_and_query))
            .ok_or_else(|| HttpError::Forbidden(format!("host {} is not allowed", target.host)))
    }
}

impl From<wit::Method> for HttpMethod {
    fn from(m: wit::Method) -> Self {
        match m {
            wit::Method::Get => HttpMethod::Get,
            wit::Method::Post => HttpMethod::Post,
            wit::Method::Put => HttpMethod::Put,
            wit::Method::Delete => HttpMethod::Delete,
        }
    }
}

impl From<HttpError> for wit::HttpError {
    fn from(e: HttpError) -> Self {
        match e {
            HttpError::Forbidden(m) => wit::HttpError::Forbidden(m),
            HttpError::Timeout => wit::HttpError::Timeout,
            HttpError::TooLarge(n) => wit::HttpError::TooLarge(n),
            HttpError::Transport(m) => wit::HttpError::Transport(m),
        }
    }
}

impl SmartlockCtx {
    fn send_checked(&mut self, request: wit::Request) -> Result<HttpResponse, HttpError> {
        let tenant = self.tenant.id.clone();
        let method = HttpMethod::from(request.method);
        let checked = parse_target(&request.url).and_then(|t| self.tenant.routes.route(&t).map(|url| (t, url)));
        let (target, url) = match checked {
            Ok(routed) => routed,
            Err(e) => {
                tracing::warn!(tenant, method = method.as_str(), error = %e, "plugin HTTP request refused");
                return Err(e);
            }
        };
        let timeout = self.wall_remaining();
        if timeout.is_zero() {
            tracing::warn!(
                tenant,
                method = method.as_str(),
                origin = target.origin,
                path = target.path,
                "plugin HTTP request refused: the call's time is up"
            );
            return Err(HttpError::Timeout);
        }
        let routed = HttpRequest { method, url, headers: request.headers, body: request.body, timeout };
        let started = Instant::now();
        let result = self.in_host(|s| s.tenant.http.send(&routed));
        let ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(response) => tracing::debug!(
                tenant,
                method = method.as_str(),
                origin = target.origin,
                path = target.path,
                status = response.status,
                ms,
                "vendor request"
            ),
            Err(e) => tracing::debug!(tenant, method = method.as_str(), origin = target.origin,
                path = target.path, error = %e, ms, "vendor request failed"),
        }
        result
    }
}

impl wit::Host for SmartlockCtx {
    fn send(&mut self, request: wit::Request) -> wasmtime::Result<Result<wit::Response, wit::HttpError>> {
        Ok(self
            .send_checked(request)
            .map(|r| wit::Response { status: r.status, headers: r.headers, body: r.body })
            .map_err(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write as _};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::imports::Tenant;

    /// A backend that records what reaches it.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<HttpRequest>>);

    impl HttpBackend for Recorder {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            self.0.lock().unwrap().push(request.clone());
            Ok(HttpResponse { status: 200, headers: vec![], body: b"ok".to_vec() })
        }
    }

    fn state(routes: VendorRoutes, http: Arc<dyn HttpBackend>) -> SmartlockCtx {
        let tenant = Tenant::new("t1", Arc::new(crate::MemoryStore::new())).with_routes(routes).with_http(http);
        SmartlockCtx::new(tenant).with_wall_limit(Duration::from_secs(30))
    }

    fn get(url: &str) -> wit::Request {
        wit::Request { method: wit::Method::Get, url: url.to_owned(), headers: vec![], body: vec![] }
    }

    /// Two brands as a component would list them: one with two origins.
    fn brands() -> Vec<BrandInfo> {
        let brand = |id: &str, origins: &[&str]| BrandInfo {
            id: id.into(),
            name: id.to_uppercase(),
            credentials: vec![],
            lock_needs: "a hub".into(),
            origins: origins.iter().map(|o| o.to_string()).collect(),
        };
        vec![
            brand("acme", &["https://auth.acme.example", "https://api.acme.example"]),
            brand("beta", &["https://cloud.beta.example"]),
        ]
    }

    fn to_stub(base: &str) -> VendorRoutes {
        VendorRoutes::from_brands(&brands(), |id| Some(format!("{base}/{id}"))).unwrap()
    }

    #[test]
    fn routes_rewrite_brand_origins_and_refuse_others() {
        let routes = to_stub("http://127.0.0.1:9");
        assert_eq!(
            routes.resolve("https://api.acme.example/v1/devices?page=2").unwrap(),
            "http://127.0.0.1:9/acme/v1/devices?page=2"
        );
        assert_eq!(
            routes.resolve("https://AUTH.acme.example:443/oauth2/token").unwrap(),
            "http://127.0.0.1:9/acme/oauth2/token"
        );
        assert_eq!(routes.resolve("https://cloud.beta.example").unwrap(), "http://127.0.0.1:9/beta/");
        for refused in [
            "https://evil.example/oauth2/token",
            "http://api.acme.example/v1/devices",       // wrong scheme
            "https://api.acme.example:8443/v1/devices", // wrong port
            "https://api.acme.example@evil.example/",
            "https://evil.example@api.acme.example/",
            "http://127.0.0.1:9/acme/v1/devices", // the stub itself is not a brand origin
            "https://api.acme.example.evil.example/",
            "ftp://api.acme.example/x",
        ] {
            assert!(matches!(routes.resolve(refused), Err(HttpError::Forbidden(_))), "{refused}");
        }
        assert!(matches!(routes.resolve("not a url"), Err(HttpError::Transport(_))));
        assert!(matches!(VendorRoutes::new().resolve("https://api.acme.example/"), Err(HttpError::Forbidden(_))));
    }

    #[test]
    fn r30_the_default_allow_list_is_every_listed_origin_to_itself_and_a_host_may_reroute_one_brand() {
        let real = VendorRoutes::all_brands().expanded(&brands()).unwrap();
        let origins: Vec<&str> = real.origins().collect();
        assert_eq!(origins, ["https://auth.acme.example", "https://api.acme.example", "https://cloud.beta.example"]);
        for url in ["https://auth.acme.example/oauth2/token", "https://cloud.beta.example/v3/lock/list?pageNo=1"] {
            assert_eq!(real.resolve(url).unwrap(), url);
        }
        // A host routes one brand elsewhere (a proxy, its fake) on top of the default.
        let mut routes = VendorRoutes::all_brands();
        routes.route_brand(&brands()[1], Some("http://127.0.0.1:9/fake")).unwrap();
        let routes = routes.expanded(&brands()).unwrap();
        assert_eq!(routes.resolve("https://cloud.beta.example/x").unwrap(), "http://127.0.0.1:9/fake/x");
        assert_eq!(routes.resolve("https://api.acme.example/x").unwrap(), "https://api.acme.example/x");
        // Narrowed: only what is listed.
        let narrow = VendorRoutes::from_brands(&brands()[..1], |_| None).unwrap();
        assert!(matches!(narrow.resolve("https://cloud.beta.example/x"), Err(HttpError::Forbidden(_))));
    }

    #[test]
    fn import_refuses_disallowed_host_without_a_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let recorder = Arc::new(Recorder::default());
        let routes = VendorRoutes::from_brands(&brands(), |_| Some(format!("http://{addr}"))).unwrap();

        // The real client behind the allow-list: a refused URL never connects.
        let mut real = state(routes.clone(), Arc::new(UreqBackend::default()));
        let refused = wit::Host::send(&mut real, get(&format!("http://{addr}/v1/devices"))).unwrap();
        assert_eq!(refused, Err(wit::HttpError::Forbidden("host 127.0.0.1 is not allowed".to_owned())));
        let refused = wit::Host::send(&mut real, get("https://example.com/")).unwrap();
        assert_eq!(refused, Err(wit::HttpError::Forbidden("host example.com is not allowed".to_owned())));
        std::thread::sleep(Duration::from_millis(50));
        assert!(listener.accept().is_err(), "a refused request reached the network");

        // And the backend is never even asked.
        let mut recorded = state(routes, recorder.clone());
        let refused = wit::Host::send(&mut recorded, get("https://evil.example/")).unwrap();
        assert!(matches!(refused, Err(wit::HttpError::Forbidden(_))));
        assert!(recorder.0.lock().unwrap().is_empty());
        let ok = wit::Host::send(&mut recorded, get("https://auth.acme.example/oauth2/token")).unwrap().unwrap();
        assert_eq!(ok.status, 200);
        assert_eq!(recorder.0.lock().unwrap()[0].url, format!("http://{addr}/oauth2/token"));
    }

    /// Serves one canned response per connection and returns the requests.
    fn serve(responses: Vec<Vec<u8>>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let mut seen = Vec::new();
            for response in responses {
                let (mut conn, _) = listener.accept().unwrap();
                let mut buf = [0u8; 8192];
                let mut request = Vec::new();
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = conn.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&buf[..n]);
                }
                seen.push(String::from_utf8_lossy(&request).into_owned());
                let _ = conn.write_all(&response);
            }
            seen
        });
        (base, handle)
    }

    #[test]
    fn ureq_backend_returns_statuses_caps_bodies_and_follows_no_redirects() {
        let big = format!("HTTP/1.1 200 OK\r\nContent-Length: 2048\r\nConnection: close\r\n\r\n{}", "x".repeat(2048));
        let (base, server) = serve(vec![
            b"HTTP/1.1 404 Not Found\r\nX-Thing: Yes\r\nContent-Length: 2\r\nConnection: close\r\n\r\nno".to_vec(),
            b"HTTP/1.1 302 Found\r\nLocation: http://example.com/\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                .to_vec(),
            big.into_bytes(),
        ]);
        let backend = UreqBackend::new(UreqConfig { timeout: Duration::from_secs(5), max_response_bytes: 1024 });
        let request = |path: &str| HttpRequest {
            method: HttpMethod::Post,
            url: format!("{base}{path}"),
            headers: vec![("authorization".into(), "Basic c2VjcmV0".into())],
            body: b"grant_type=client_credentials".to_vec(),
            timeout: Duration::from_secs(5),
        };
        let not_found = backend.send(&request("/a")).unwrap();
        assert_eq!(not_found.status, 404);
        assert_eq!(not_found.body, b"no");
        assert!(not_found.headers.contains(&("x-thing".to_owned(), "Yes".to_owned())));
        let redirect = backend.send(&request("/b")).unwrap();
        assert_eq!(redirect.status, 302);
        assert_eq!(backend.send(&request("/c")), Err(HttpError::TooLarge(1024)));

        let seen = server.join().unwrap();
        let first = seen[0].to_ascii_lowercase();
        assert!(first.starts_with("post /a http/1.1\r\n"), "{first}");
        assert!(first.contains("authorization: basic c2vjcmv0"), "{first}");
        for added in ["user-agent", "accept:", "accept-encoding"] {
            assert!(!first.contains(added), "the host added {added}: {first}");
        }
    }

    #[test]
    fn ureq_backend_times_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/slow", listener.local_addr().unwrap());
        let backend = UreqBackend::default();
        let request = HttpRequest {
            method: HttpMethod::Get,
            url,
            headers: vec![],
            body: vec![],
            timeout: Duration::from_millis(200),
        };
        let started = Instant::now();
        assert_eq!(backend.send(&request), Err(HttpError::Timeout));
        assert!(started.elapsed() < Duration::from_secs(3));
        drop(listener);
    }
}

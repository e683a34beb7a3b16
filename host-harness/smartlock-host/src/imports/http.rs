//! The `http` import: outgoing requests to the tenant's vendor hosts only.
//!
//! The plugin always names the real vendor URLs (`https://auth.igloohome.co/...`,
//! `https://api.igloodeveloper.co/igloohome/...`, `https://api.nuki.io/...`,
//! `https://euapi.ttlock.com/...`). The tenant's
//! [`VendorRoutes`] is the allow-list: it lists each vendor origin the tenant
//! may reach and the base URL the host actually sends it to (itself in
//! production, the stub's loopback address in tests). By default
//! ([`Tenant::new`](crate::Tenant::new)) it is
//! [`VendorRoutes::all_vendors`]: those four origins, each sent to itself. A
//! URL of any other origin is refused with `forbidden` before any connection
//! is made. The
//! request then goes to the tenant's [`HttpBackend`] ([`UreqBackend`] for
//! real), which applies a timeout and a response size cap, follows no
//! redirects and returns 4xx/5xx as responses.
//!
//! Requests are logged at debug with method, origin, path, status and time;
//! never headers, query or bodies (the token request carries the client
//! secret).

use std::time::{Duration, Instant};

use ureq::config::AutoHeaderValue;
use ureq::http::Uri;

use super::HostState;
use crate::bindings::api::Provider;
use crate::bindings::generated::pms::smartlock::http as wit;

/// igloohome's OAuth2 token origin.
pub const IGLOOHOME_AUTH_ORIGIN: &str = "https://auth.igloohome.co";
/// igloohome's API origin.
pub const IGLOOHOME_API_ORIGIN: &str = "https://api.igloodeveloper.co";
/// Nuki's Web API origin (API token as Bearer; no separate token host).
pub const NUKI_ORIGIN: &str = "https://api.nuki.io";
/// TTLock's Open Platform origin (European server), token endpoint included.
pub const TTLOCK_ORIGIN: &str = "https://euapi.ttlock.com";

/// Every origin the component sends requests to, with its vendor and the
/// path under which the stub world serves it (`""`: the stub's root). The
/// one list of vendor origins: [`VendorRoutes::all_vendors`] (a tenant's
/// default allow-list), [`VendorRoutes::via_stub`] and the igloohome-only
/// routes are all made from it.
const VENDOR_ORIGINS: [(Provider, &str, &str); 4] = [
    (Provider::Igloohome, IGLOOHOME_AUTH_ORIGIN, ""),
    (Provider::Igloohome, IGLOOHOME_API_ORIGIN, ""),
    (Provider::Nuki, NUKI_ORIGIN, "/nuki"),
    (Provider::Ttlock, TTLOCK_ORIGIN, "/ttlock"),
];

/// The methods the plugin may use (the WIT `method` enum); nothing else
/// reaches a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// `GET` (igloohome: device list, bridge job status).
    Get,
    /// `POST` (igloohome: the OAuth2 token request, bridge jobs).
    Post,
    /// `PUT` (in the contract; the igloohome client does not use it).
    Put,
    /// `DELETE` (in the contract; the igloohome client does not use it).
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

/// The vendor origins a tenant may reach and where each one is sent: the
/// HTTP allow-list. Empty ([`VendorRoutes::new`], `Default`) allows nothing;
/// a [`Tenant`](crate::Tenant) starts with [`VendorRoutes::all_vendors`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VendorRoutes {
    /// (origin as `scheme://host[:port]`, base URL without trailing slash).
    routes: Vec<(String, String)>,
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

    /// The origins of [`VENDOR_ORIGINS`] whose vendor `include` accepts,
    /// each sent to itself (`stub: None`) or to its place in the stub world
    /// at `stub`.
    fn of_vendors(include: impl Fn(Provider) -> bool, stub: Option<&str>) -> anyhow::Result<Self> {
        let mut routes = Self::new();
        for (provider, origin, stub_path) in VENDOR_ORIGINS {
            if include(provider) {
                match stub {
                    None => routes.insert(origin, origin)?,
                    Some(base) => routes.insert(origin, &format!("{}{stub_path}", base.trim_end_matches('/')))?,
                }
            }
        }
        Ok(routes)
    }

    /// The real igloohome hosts, sent to themselves.
    pub fn igloohome() -> Self {
        Self::of_vendors(|p| p == Provider::Igloohome, None).expect("igloohome origins are valid")
    }

    /// The igloohome hosts, both sent to `base` (the stub, e.g.
    /// `http://127.0.0.1:8080`, which serves `/oauth2/token` and
    /// `/igloohome/...`).
    pub fn igloohome_via(base: &str) -> anyhow::Result<Self> {
        Self::of_vendors(|p| p == Provider::Igloohome, Some(base))
    }

    /// The real hosts of every vendor the component knows, each sent to
    /// itself: igloohome's `https://auth.igloohome.co` and
    /// `https://api.igloodeveloper.co`, Nuki's `https://api.nuki.io` and
    /// TTLock's `https://euapi.ttlock.com` (https on port 443 only).
    ///
    /// The default allow-list of [`Tenant::new`](crate::Tenant::new); any
    /// other URL (another host, scheme or port) is `forbidden` and never
    /// connected to.
    pub fn all_vendors() -> Self {
        Self::of_vendors(|_| true, None).expect("vendor origins are valid")
    }

    /// Every vendor host of [`all_vendors`](Self::all_vendors) sent to the
    /// stub world at `base` (e.g. `http://127.0.0.1:8080`): igloohome's two
    /// origins to `base` itself, Nuki's to `{base}/nuki` and TTLock's to
    /// `{base}/ttlock`, the path prefixes under which the world serves those
    /// vendors' real paths.
    pub fn via_stub(base: &str) -> anyhow::Result<Self> {
        Self::of_vendors(|_| true, Some(base))
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

impl HostState {
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

impl wit::Host for HostState {
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
    use crate::imports::{CallLimits, Tenant};

    /// A backend that records what reaches it.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<HttpRequest>>);

    impl HttpBackend for Recorder {
        fn send(&self, request: &HttpRequest) -> Result<HttpResponse, HttpError> {
            self.0.lock().unwrap().push(request.clone());
            Ok(HttpResponse { status: 200, headers: vec![], body: b"ok".to_vec() })
        }
    }

    fn state(routes: VendorRoutes, http: Arc<dyn HttpBackend>) -> HostState {
        let tenant = Tenant::new("t1", Arc::new(crate::MemoryStore::new())).with_routes(routes).with_http(http);
        let limits = CallLimits {
            guest_time: Duration::from_secs(5),
            wall_time: Duration::from_secs(30),
            memory_bytes: 1 << 20,
            table_elements: 1000,
        };
        HostState::new(Arc::new(tenant), Arc::default(), &limits)
    }

    fn get(url: &str) -> wit::Request {
        wit::Request { method: wit::Method::Get, url: url.to_owned(), headers: vec![], body: vec![] }
    }

    #[test]
    fn routes_rewrite_vendor_origins_and_refuse_others() {
        let routes = VendorRoutes::igloohome_via("http://127.0.0.1:9/").unwrap();
        assert_eq!(
            routes.resolve("https://api.igloodeveloper.co/igloohome/devices?page=2").unwrap(),
            "http://127.0.0.1:9/igloohome/devices?page=2"
        );
        assert_eq!(
            routes.resolve("https://AUTH.igloohome.co:443/oauth2/token").unwrap(),
            "http://127.0.0.1:9/oauth2/token"
        );
        for refused in [
            "https://evil.example/oauth2/token",
            "http://api.igloodeveloper.co/igloohome/devices", // wrong scheme
            "https://api.igloodeveloper.co:8443/igloohome/devices", // wrong port
            "https://api.igloodeveloper.co@evil.example/",
            "https://evil.example@api.igloodeveloper.co/",
            "http://127.0.0.1:9/igloohome/devices", // the stub itself is not a vendor origin
            "ftp://api.igloodeveloper.co/x",
        ] {
            assert!(matches!(routes.resolve(refused), Err(HttpError::Forbidden(_))), "{refused}");
        }
        assert!(matches!(routes.resolve("not a url"), Err(HttpError::Transport(_))));
        assert!(matches!(VendorRoutes::new().resolve("https://api.igloodeveloper.co/"), Err(HttpError::Forbidden(_))));
        assert_eq!(
            VendorRoutes::igloohome().resolve("https://api.igloodeveloper.co/igloohome/x").unwrap(),
            "https://api.igloodeveloper.co/igloohome/x"
        );
    }

    #[test]
    fn every_vendor_routes_to_itself_or_to_its_place_in_the_stub() {
        let real = VendorRoutes::all_vendors();
        let origins: Vec<&str> = real.origins().collect();
        assert_eq!(origins, [IGLOOHOME_AUTH_ORIGIN, IGLOOHOME_API_ORIGIN, NUKI_ORIGIN, TTLOCK_ORIGIN]);
        for url in [
            "https://auth.igloohome.co/oauth2/token",
            "https://api.igloodeveloper.co/igloohome/devices",
            "https://api.nuki.io/smartlock/18205286116/auth",
            "https://euapi.ttlock.com/v3/lock/list?pageNo=1",
        ] {
            assert_eq!(real.resolve(url).unwrap(), url);
        }
        assert!(matches!(real.resolve("https://api.ttlock.com/v3/lock/list"), Err(HttpError::Forbidden(_))));

        let stub = VendorRoutes::via_stub("http://127.0.0.1:9/").unwrap();
        assert_eq!(stub.origins().count(), 4);
        for (url, sent) in [
            ("https://auth.igloohome.co/oauth2/token", "http://127.0.0.1:9/oauth2/token"),
            ("https://api.igloodeveloper.co/igloohome/devices", "http://127.0.0.1:9/igloohome/devices"),
            ("https://api.nuki.io/smartlock?x=1", "http://127.0.0.1:9/nuki/smartlock?x=1"),
            ("https://api.nuki.io", "http://127.0.0.1:9/nuki/"),
            ("https://euapi.ttlock.com/oauth2/token", "http://127.0.0.1:9/ttlock/oauth2/token"),
            ("https://EUAPI.ttlock.com:443/v3/lock/list?pageNo=1", "http://127.0.0.1:9/ttlock/v3/lock/list?pageNo=1"),
        ] {
            assert_eq!(stub.resolve(url).unwrap(), sent, "{url}");
        }
        let refused = ["http://api.nuki.io/smartlock", "https://euapi.ttlock.com:8443/x", "http://127.0.0.1:9/nuki/x"];
        for refused in refused {
            assert!(matches!(stub.resolve(refused), Err(HttpError::Forbidden(_))), "{refused}");
        }
    }

    #[test]
    fn import_refuses_disallowed_host_without_a_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let recorder = Arc::new(Recorder::default());
        let routes = VendorRoutes::igloohome_via(&format!("http://{addr}")).unwrap();

        // The real client behind the allow-list: a refused URL never connects.
        let mut real = state(routes.clone(), Arc::new(UreqBackend::default()));
        let refused = wit::Host::send(&mut real, get(&format!("http://{addr}/igloohome/devices"))).unwrap();
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
        let ok = wit::Host::send(&mut recorded, get("https://auth.igloohome.co/oauth2/token")).unwrap().unwrap();
        assert_eq!(ok.status, 200);
        assert_eq!(recorder.0.lock().unwrap()[0].url, format!("http://{addr}/oauth2/token"));
    }

    #[test]
    fn a_new_tenant_reaches_every_vendor_and_nothing_else() {
        let default = Tenant::new("t-default", Arc::new(crate::MemoryStore::new()));
        assert_eq!(default.routes, VendorRoutes::all_vendors());
        let stub_origins: Vec<String> =
            VendorRoutes::via_stub("http://127.0.0.1:9").unwrap().origins().map(str::to_owned).collect();
        assert_eq!(default.routes.origins().collect::<Vec<_>>(), stub_origins, "one list of vendor origins");

        // Through the import, with the default routes: every vendor's URL
        // reaches the transport as it is, anything else never does.
        let recorder = Arc::new(Recorder::default());
        let mut plugin = state(default.routes.clone(), recorder.clone());
        let allowed = [
            "https://auth.igloohome.co/oauth2/token",
            "https://api.igloodeveloper.co/igloohome/devices",
            "https://api.nuki.io/smartlock",
            "https://euapi.ttlock.com/v3/lock/list?pageNo=1",
        ];
        for url in allowed {
            assert_eq!(wit::Host::send(&mut plugin, get(url)).unwrap().unwrap().status, 200, "{url}");
        }
        for url in [
            "https://evil.example/",
            "http://api.nuki.io/smartlock",
            "https://api.nuki.io:8443/smartlock",
            "https://api.ttlock.com/v3/lock/list",
            "https://api.nuki.io.evil.example/smartlock",
        ] {
            assert!(
                matches!(wit::Host::send(&mut plugin, get(url)).unwrap(), Err(wit::HttpError::Forbidden(_))),
                "{url}"
            );
        }
        let sent: Vec<String> = recorder.0.lock().unwrap().iter().map(|r| r.url.clone()).collect();
        assert_eq!(sent, allowed);
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

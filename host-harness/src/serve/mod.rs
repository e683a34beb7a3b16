//! `host-harness serve`: a long-running reference host on
//! [`smartlock_host`](crate): several PMS accounts (tenants) behind one JSON
//! API ([`api`], `openapi.json`) and the seed's Integrations panel, state
//! in one SQLite file or in PostgreSQL shared by several service processes
//! ([`db`], R34), ticks driven by the plugin's wake-ups with a regular
//! 5-minute tick as backstop ([`scheduler`]). See `README.md` beside this file.
//!
//! With `--stub URL` every brand goes to a stub process (`host-harness stub
//! --speed N`) and the clock is that stub's: several service processes then
//! share one simulated world.
//!
//! With `--demo` the four vendor stubs run in-process with demo accounts
//! and locks, the tenant `demo` gets demo properties and bookings, and the
//! clock may run `--speed` times faster than the wall clock ([`demo`]).

pub mod api;
pub mod clock;
pub mod db;
pub mod demo;
mod demo_data;
pub mod host;
mod http;
pub mod json;
pub mod keys;
mod poke;
pub mod records;
pub mod scheduler;
pub mod secrets;
pub mod webhooks;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;

use crate::imports::{Clock as _, HttpBackend, SqliteDb, SystemClock, UreqBackend, UreqConfig, VendorRoutes};
use crate::{PgDb, Runtime, RuntimeConfig};

use self::db::{Database, DbTarget, TurnSettings};

use self::clock::ServiceClock;
use self::demo::{Demo, DemoHttp, DEMO_TTLOCK_APP};
use self::host::{Host, HostParts};
use self::http::HttpServer;
pub use self::http::Limits;
pub use self::secrets::{SecretSources, TokenOrigin};

/// Fastest simulated clock `--speed` accepts.
pub const MAX_SPEED: u32 = 100_000;
/// Longest stay accepted unless `--max-nights` says otherwise.
pub const DEFAULT_MAX_NIGHTS: u32 = 366;

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The database: a SQLite file (plugin state, the PMS records, the
    /// outbox), or PostgreSQL shared with other service processes.
    pub db: DbTarget,
    /// A stub process (`host-harness stub --speed N`) every brand goes to,
    /// whose clock the service follows.
    pub stub: Option<String>,
    /// With PostgreSQL: how long a turn taken over from a holder that ended
    /// without releasing it waits for that holder's last vendor request.
    pub takeover_grace: std::time::Duration,
    /// Port on 127.0.0.1; 0: any free port.
    pub port: u16,
    /// The operator's token and the TTLock application secret, from the
    /// environment or files.
    pub secrets: SecretSources,
    /// The vendor stubs in-process, demo data for the tenant `demo`.
    pub demo: bool,
    /// Simulated seconds per wall second (demo only).
    pub speed: u32,
    /// Longest stay accepted, in nights.
    pub max_nights: u32,
    /// The HTTP server's limits.
    pub limits: Limits,
    /// `--route BRAND=URL`: a brand's origins sent to URL instead of the
    /// default (the vendor itself, the demo's or `--stub`'s stubs).
    pub routes: Vec<(String, String)>,
}

/// A refusal of the command line found at start (an unknown brand in
/// `--route`): `serve` ends with exit code 2 and this one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Parses `--route`'s `BRAND=URL` (the URL `http` or `https`).
pub fn parse_route(value: &str) -> Result<(String, String), String> {
    let (brand, url) = value.split_once('=').ok_or_else(|| format!("--route {value:?} is not BRAND=URL"))?;
    let (brand, url) = (brand.trim(), url.trim());
    if brand.is_empty() {
        return Err(format!("--route {value:?} names no brand"));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() <= "https://".len() {
        return Err(format!("--route {brand}=...: the URL must start with http:// or https://"));
    }
    if url.contains('@') {
        return Err(format!("--route {brand}=...: the URL must not carry a user name or password"));
    }
    Ok((brand.to_string(), url.to_string()))
}

/// `routes` with each `--route BRAND=URL` applied on top; an unknown brand
/// is a [`UsageError`] naming the brands the component knows.
fn apply_routes(
    runtime: &Runtime,
    mut routes: VendorRoutes,
    wanted: &[(String, String)],
) -> anyhow::Result<VendorRoutes> {
    for (brand, url) in wanted {
        let Some(info) = runtime.brands().iter().find(|b| &b.id == brand) else {
            let known: Vec<&str> = runtime.brands().iter().map(|b| b.id.as_str()).collect();
            return Err(UsageError(format!(
                "--route {brand}=...: unknown brand {brand:?} (the plugin knows {})",
                known.join(", ")
            ))
            .into());
        };
        routes.route_brand(info, Some(url)).map_err(|e| UsageError(format!("--route {brand}=...: {e:#}")))?;
        tracing::info!(brand = %brand, to = %url, "brand routed");
    }
    Ok(routes)
}

/// A running service.
pub struct Service {
    host: Arc<Host>,
    http: Option<HttpServer>,
    ticks: Option<JoinHandle<()>>,
    webhooks: Option<webhooks::Worker>,
    token: String,
    token_origin: TokenOrigin,
}

impl Service {
    /// Opens the database, loads the plugin, starts the demo stubs when
    /// asked, the API server and the tick loop.
    pub fn start(options: ServeOptions, config: RuntimeConfig) -> anyhow::Result<Service> {
        anyhow::ensure!((1..=MAX_SPEED).contains(&options.speed), "--speed must be from 1 to {MAX_SPEED}");
        anyhow::ensure!(
            options.demo || options.speed == 1,
            "--speed needs --demo: against real vendors the host runs on the wall clock (with --stub, the stub's)"
        );
        anyhow::ensure!(!(options.demo && options.stub.is_some()), "--demo and --stub exclude each other");
        anyhow::ensure!(options.max_nights >= 1, "--max-nights must be at least 1");
        let (db, token_file_base) = match &options.db {
            DbTarget::Sqlite(path) => {
                let db = SqliteDb::open(path).with_context(|| format!("opening {}", path.display()))?;
                (Database::Sqlite(db), path.clone())
            }
            DbTarget::Postgres(url) => {
                anyhow::ensure!(
                    options.secrets.token_env.is_some() || options.secrets.token_file.is_some(),
                    "with a PostgreSQL database give the operator token in {} or --token-file (the same for \
                     every service process): there is no database file to keep a generated one beside",
                    secrets::TOKEN_ENV
                );
                // Enough connections for every blocking thread and tick at once.
                let connections = options.limits.blocking_threads + scheduler::PARALLEL_TICKS + 4;
                let db =
                    PgDb::open_with(url, connections).with_context(|| format!("opening {}", options.db.describe()))?;
                (Database::Postgres(db), PathBuf::new())
            }
        };
        let (token, token_origin) = options.secrets.operator_token(&token_file_base)?;
        let runtime = Runtime::new(config).context("loading the plugin")?;
        let real_http: Arc<dyn HttpBackend> = Arc::new(UreqBackend::new(UreqConfig::default()));
        let (clock, demo, routes, http, ttlock_app) = if let Some(stub) = &options.stub {
            // The stub process's clock, from its own reading.
            let (now, speed) = stub_clock(stub)?;
            let clock = Arc::new(ServiceClock::following(now, speed));
            let routes = crate::stub_routes(&runtime, stub)?;
            (clock, None, routes, real_http, options.secrets.ttlock_app()?)
        } else if options.demo {
            // A restarted demo goes on from its saved clock, never back.
            let start = SystemClock.now().max(Host::saved_clock(&db).unwrap_or(i64::MIN));
            let clock = Arc::new(ServiceClock::simulated(start, options.speed));
            let demo = Demo::start(start).context("starting the demo's vendor stubs")?;
            let routes = crate::stub_routes(&runtime, &demo.base_url())?;
            let http: Arc<dyn HttpBackend> =
                Arc::new(DemoHttp { inner: real_http, world: demo.world.clone(), clock: clock.clone() });
            let app = Some((DEMO_TTLOCK_APP.0.to_string(), DEMO_TTLOCK_APP.1.to_string()));
            (clock, Some(demo), routes, http, app)
        } else {
            let app = options.secrets.ttlock_app()?;
            (Arc::new(ServiceClock::wall()), None, VendorRoutes::all_brands(), real_http, app)
        };
        let routes = apply_routes(&runtime, routes, &options.routes)?;
        let turn_settings = TurnSettings { holder: db::holder_name(), takeover_grace: options.takeover_grace };
        let parts = HostParts {
            runtime,
            db,
            stub: options.stub.clone(),
            turn_settings,
            clock,
            routes,
            http,
            token: token.clone(),
            demo,
            // TTLock's application is the one host-supplied pair the
            // service's flags name (`--ttlock-client-id`, the secret from
            // the environment or a file).
            supplied: ttlock_app
                .map(|(id, secret)| {
                    vec![
                        ("ttlock".to_string(), "client_id".to_string(), id),
                        ("ttlock".to_string(), "client_secret".to_string(), secret),
                    ]
                })
                .unwrap_or_default(),
            max_nights: options.max_nights,
        };
        let host = Host::new(parts).map_err(|e| anyhow::anyhow!(e.message))?;
        let host = Arc::new(host);
        if host.demo.is_some() {
            demo_data::seed(&host)?;
        }
        let http = HttpServer::start(host.clone(), options.port, options.limits)
            .with_context(|| format!("listening on 127.0.0.1:{}", options.port))?;
        let ticks = scheduler::spawn(host.clone()).context("starting the tick loop")?;
        let webhooks = webhooks::spawn(host.clone()).context("starting the webhook worker")?;
        Ok(Service { host, http: Some(http), ticks: Some(ticks), webhooks: Some(webhooks), token, token_origin })
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.http.as_ref().map(HttpServer::base_url).unwrap_or_default()
    }

    /// The operator's token.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// Serves until the process ends.
    pub fn wait(&mut self) {
        if let Some(http) = &mut self.http {
            http.wait();
        }
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.host.poke.stop();
        self.http.take();
        self.webhooks.take();
        if let Some(t) = self.ticks.take() {
            let _ = t.join();
        }
    }
}

/// The clock of the stub process at `base`: its reading with the fraction
/// of a second, and its speed (`stub --speed N`; 1 when its clock is set by
/// hand).
fn stub_clock(base: &str) -> anyhow::Result<(f64, u32)> {
    let url = format!("{}/_admin/time", base.trim_end_matches('/'));
    let text = ureq::get(&url)
        .call()
        .and_then(|mut r| r.body_mut().read_to_string())
        .with_context(|| format!("reading the stub's clock at {url}"))?;
    let body: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("the stub's clock at {url} is not JSON"))?;
    let now = body["now_exact"].as_f64().or_else(|| body["now"].as_f64()).context("the stub's clock has no `now`")?;
    let speed = body["speed"].as_u64().map_or(1, |s| s.clamp(1, u64::from(MAX_SPEED)) as u32);
    Ok((now, speed))
}

/// `host-harness serve`: prints the base URL as the first line on stdout,
/// where the operator token is (never the token) and the demo's
/// credentials on stderr, then serves until the process is stopped.
pub fn run(options: ServeOptions, config: RuntimeConfig) -> anyhow::Result<()> {
    let demo = options.demo;
    let speed = options.speed;
    let database = options.db.describe();
    let mut service = Service::start(options, config)?;
    let base = service.base_url();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{base}")?;
    stdout.flush()?;
    match &service.token_origin {
        TokenOrigin::Generated(path) => eprintln!(
            "operator token (Authorization: Bearer ...): made and written to {} (readable by you only)",
            path.display()
        ),
        TokenOrigin::File(path) => eprintln!("operator token: from {}", path.display()),
        TokenOrigin::Environment => eprintln!("operator token: from {}", secrets::TOKEN_ENV),
    }
    eprintln!("panel: {base}/ (it asks for the operator token or a tenant's API key once per browser tab)");
    if demo {
        // A key of the demo tenant only (its data and the stubs are fakes),
        // made afresh at each start: the demo's panel opens with one click.
        // The operator token itself is never printed.
        match demo_data::panel_key(&service.host) {
            Ok(key) => eprintln!("demo panel (tenant \"demo\" only): {base}/#key={key}"),
            Err(e) => tracing::warn!(error = %e, "could not make the demo panel's key"),
        }
        eprintln!("demo: simulated clock at {speed}x; tenant \"demo\"; panel {base}/");
        eprintln!(
            "demo credentials: igloohome demo-igloohome-id / demo-igloohome-secret; Nuki demo-nuki-token; \
             TTLock owner@example.com / demo-password; Seam {}",
            demo::DEMO_SEAM_KEY
        );
    }
    tracing::info!(%base, demo, speed, database, holder = service.host.holder(), "serving");
    service.wait();
    Ok(())
}

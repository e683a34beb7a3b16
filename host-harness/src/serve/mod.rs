//! `host-harness serve`: a long-running reference host on
//! [`smartlock_host`](crate): several PMS accounts (tenants) behind one JSON
//! API ([`api`], `openapi.json`) and the seed's Integrations panel, state
//! in one SQLite file, ticks driven by the plugin's wake-ups with a regular
//! 5-minute tick as backstop ([`scheduler`]). See `README.md` beside this file.
//!
//! With `--demo` the three vendor stubs run in-process with demo accounts
//! and locks, the tenant `demo` gets demo properties and bookings, and the
//! clock may run `--speed` times faster than the wall clock ([`demo`]).

pub mod api;
pub mod clock;
pub mod demo;
pub mod host;
mod http;
pub mod json;
pub mod keys;
pub mod records;
pub mod scheduler;
pub mod secrets;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::Context as _;

use crate::imports::{Clock as _, HttpBackend, SqliteDb, SystemClock, UreqBackend, UreqConfig, VendorRoutes};
use crate::{Runtime, RuntimeConfig};

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
    /// The SQLite file (plugin state, the PMS records, the outbox).
    pub db: PathBuf,
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
}

/// A running service.
pub struct Service {
    host: Arc<Host>,
    http: Option<HttpServer>,
    ticks: Option<JoinHandle<()>>,
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
            "--speed needs --demo: against real vendors the host runs on the wall clock"
        );
        anyhow::ensure!(options.max_nights >= 1, "--max-nights must be at least 1");
        let (token, token_origin) = options.secrets.operator_token(&options.db)?;
        let db = SqliteDb::open(&options.db).with_context(|| format!("opening {}", options.db.display()))?;
        let runtime = Runtime::new(config).context("loading the plugin")?;
        let real_http: Arc<dyn HttpBackend> = Arc::new(UreqBackend::new(UreqConfig::default()));
        let (clock, demo, routes, http, ttlock_app) = if options.demo {
            // A restarted demo goes on from its saved clock, never back.
            let start = SystemClock.now().max(Host::saved_clock(&db).unwrap_or(i64::MIN));
            let clock = Arc::new(ServiceClock::simulated(start, options.speed));
            let demo = Demo::start(start).context("starting the demo's vendor stubs")?;
            let routes = VendorRoutes::via_stub(&demo.base_url())?;
            let http: Arc<dyn HttpBackend> =
                Arc::new(DemoHttp { inner: real_http, world: demo.world.clone(), clock: clock.clone() });
            let app = Some((DEMO_TTLOCK_APP.0.to_string(), DEMO_TTLOCK_APP.1.to_string()));
            (clock, Some(demo), routes, http, app)
        } else {
            let app = options.secrets.ttlock_app()?;
            (Arc::new(ServiceClock::wall()), None, VendorRoutes::all_vendors(), real_http, app)
        };
        let parts = HostParts {
            runtime,
            db,
            clock,
            routes,
            http,
            token: token.clone(),
            demo,
            ttlock_app,
            max_nights: options.max_nights,
        };
        let host = Host::new(parts).map_err(|e| anyhow::anyhow!(e.message))?;
        let host = Arc::new(host);
        if host.demo.is_some() {
            demo::seed(&host)?;
        }
        let http = HttpServer::start(host.clone(), options.port, options.limits)
            .with_context(|| format!("listening on 127.0.0.1:{}", options.port))?;
        let ticks = scheduler::spawn(host.clone()).context("starting the tick loop")?;
        Ok(Service { host, http: Some(http), ticks: Some(ticks), token, token_origin })
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
        if let Some(t) = self.ticks.take() {
            let _ = t.join();
        }
    }
}

/// `host-harness serve`: prints the base URL as the first line on stdout,
/// where the operator token is (never the token) and the demo's
/// credentials on stderr, then serves until the process is stopped.
pub fn run(options: ServeOptions, config: RuntimeConfig) -> anyhow::Result<()> {
    let demo = options.demo;
    let speed = options.speed;
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
        eprintln!("demo: simulated clock at {speed}x; tenant \"demo\"; panel {base}/");
        eprintln!(
            "demo credentials: igloohome demo-igloohome-id / demo-igloohome-secret; Nuki demo-nuki-token; \
             TTLock owner@example.com / demo-password"
        );
    }
    tracing::info!(%base, demo, speed, "serving");
    service.wait();
    Ok(())
}

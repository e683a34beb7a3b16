//! `host-harness`: the command line of the plugin host.
//!
//!     host-harness scenario FILE.json [--report OUT.json]
//!     host-harness stub --config FILE.json [--port N] [--start RFC3339] [--speed N]
//!     host-harness bench [--json]
//!     host-harness bench-multinode [--json]     (PostgreSQL URL in SMARTLOCK_DB)
//!     host-harness drive --scenario FILE.json --stub URL --db FILE.sqlite
//!     host-harness serve [--db FILE|postgres://...] [--port N] [--token-file FILE] [--demo [--speed N] | --stub URL]
//!
//! Logs go to stderr (`RUST_LOG`), results to stdout.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use host_harness::scenario::{self, InvalidScenario, RunOptions, Scenario};
use host_harness::stubs::{World, WorldConfig};
use host_harness::{bench, drive, serve, Runtime, RuntimeConfig};

#[derive(Parser)]
#[command(name = "host-harness", version, about = "Runs the smart-lock plugin component in a wasmtime sandbox.")]
struct Cli {
    /// The plugin component (default: the one this binary was built with).
    #[arg(long, global = true)]
    component: Option<PathBuf>,
    /// A folder to keep the compiled component in between runs.
    #[arg(long, global = true)]
    cache_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replays a scenario file against the vendor stubs (igloohome, Nuki,
    /// TTLock: those the file describes) on a simulated clock, prints the
    /// report (the scenario format's JSON) on stdout and a short summary
    /// for a person on stderr; log lines carry the simulated instant.
    Scenario {
        /// The scenario file.
        file: PathBuf,
        /// Write the report here instead of stdout.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Exit with status 1 when a step failed (default: 0, the report
        /// says which).
        #[arg(long)]
        strict: bool,
        /// Show the PINs in the summary (they are always in the report).
        #[arg(long)]
        show_pins: bool,
        /// No summary on stderr.
        #[arg(long)]
        quiet: bool,
    },
    /// Runs the vendor stubs (igloohome, Nuki, TTLock) alone on 127.0.0.1
    /// (prints their base URL on stdout, then serves until
    /// `POST /_admin/shutdown`).
    Stub {
        /// A scenario file (its `igloohome`, `nuki`, `ttlock` and `start`)
        /// or a bare `igloohome` object.
        #[arg(long)]
        config: PathBuf,
        /// Port (0: any free port).
        #[arg(long, default_value_t = 0)]
        port: u16,
        /// The stub's simulated clock at start (RFC 3339), default the
        /// scenario's `start` or now.
        #[arg(long)]
        start: Option<chrono::DateTime<chrono::Utc>>,
        /// The clock runs by itself N times as fast as the wall clock from
        /// the start (`serve --stub URL` follows it); without it the clock
        /// moves only when set (`POST /_admin/time`).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        speed: Option<u32>,
    },
    /// Measures the component and prints the figures.
    Bench {
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
        /// Only run the wasm-versus-native workload, repeatedly (to profile).
        #[arg(long, hide = true)]
        profile_native: bool,
    },
    /// Measures PostgreSQL against SQLite per call, and bookings handled
    /// per second by 1, 2 and 3 `serve` processes on one database (R34).
    /// The server's URL (its user may create databases) comes from
    /// SMARTLOCK_DB or SMARTLOCK_TEST_PG.
    BenchMultinode {
        /// One JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Runs a scenario against a stub in another process, with durable
    /// progress in a SQLite file: killed at any moment and started again with
    /// the same arguments, it carries on where it was (the crash test).
    Drive {
        #[arg(long)]
        scenario: PathBuf,
        /// The stub's base URL (from `host-harness stub`).
        #[arg(long)]
        stub: String,
        /// The host's storage (plugin state and the driver's progress).
        #[arg(long)]
        db: PathBuf,
    },
    /// Runs the reference host service: the JSON API (/openapi.json) and
    /// the Integrations panel (/) for several PMS accounts, on 127.0.0.1
    /// (prints its base URL as the first line on stdout).
    Serve {
        /// The database: a SQLite file (plugin state, PMS records, e-mail
        /// outbox; default smartlock.sqlite), or a PostgreSQL URL
        /// (postgres://USER@HOST/DB) that several service processes share.
        /// A URL with a password goes in SMARTLOCK_DB (or PGPASSWORD), not here.
        #[arg(long, value_name = "FILE|URL")]
        db: Option<String>,
        /// Send every brand to this stub process (`host-harness stub
        /// --speed N`) and follow its clock: several service processes
        /// then share one simulated world.
        #[arg(long, value_name = "URL")]
        stub: Option<String>,
        /// With PostgreSQL: seconds a process waits before working on a
        /// tenant whose last holder ended without releasing it (killed, or
        /// cut off from the database), for that holder's last vendor request
        /// (default: the vendor request timeout, 10 s, plus 1).
        #[arg(long, value_name = "S", default_value_t = 11,
              value_parser = clap::value_parser!(u64).range(0..=600))]
        takeover_grace: u64,
        /// Port (0: any free port).
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// A file holding the operator's token (made with a random token,
        /// readable by its owner only, when it does not exist). Or set
        /// SMARTLOCK_TOKEN. Default: FILE.token beside the --db file.
        #[arg(long, value_name = "FILE")]
        token_file: Option<PathBuf>,
        /// Run the vendor stubs in-process with demo accounts, locks,
        /// properties and bookings (tenant "demo").
        #[arg(long)]
        demo: bool,
        /// Demo only: simulated seconds per wall second.
        #[arg(long, default_value_t = 1)]
        speed: u32,
        /// The host's TTLock application id (added to every TTLock connect);
        /// its secret comes from SMARTLOCK_TTLOCK_CLIENT_SECRET or
        /// --ttlock-client-secret-file.
        #[arg(long)]
        ttlock_client_id: Option<String>,
        /// A file holding the host's TTLock application secret.
        #[arg(long, value_name = "FILE")]
        ttlock_client_secret_file: Option<PathBuf>,
        /// Longest stay accepted, in nights.
        #[arg(long, default_value_t = serve::DEFAULT_MAX_NIGHTS)]
        max_nights: u32,
        /// Connections served at once; more wait until one closes.
        #[arg(long, default_value_t = serve::Limits::default().max_connections,
              value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=100_000))]
        max_connections: usize,
        /// Seconds a client may take to send a request (head or body), and
        /// an idle connection may stay open.
        #[arg(long, default_value_t = serve::Limits::default().read_timeout.as_secs(),
              value_parser = clap::value_parser!(u64).range(1..=3600))]
        read_timeout: u64,
        /// Send a brand's requests to URL instead of the default (repeatable):
        /// BRAND is its id (igloohome, nuki, ttlock, seam, ...), URL a proxy
        /// or a fake of its API (`http://` or `https://`).
        #[arg(long = "route", value_name = "BRAND=URL", value_parser = serve::parse_route)]
        routes: Vec<(String, String)>,
        /// Refused: a secret on the command line is visible to every user in
        /// `ps`. Use SMARTLOCK_TOKEN or --token-file.
        #[arg(long, hide = true, value_name = "T")]
        token: Option<String>,
        /// Refused, as --token: use SMARTLOCK_TTLOCK_CLIENT_SECRET or --ttlock-client-secret-file.
        #[arg(long, hide = true, value_name = "S")]
        ttlock_client_secret: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The benches print figures: the plugin's info lines would be thousands
    // of terminal writes inside what they time (both sides of `native_ratio`
    // log through `tracing`; the plugin's test host keeps its lines in memory).
    let default_log =
        if matches!(cli.command, Command::Bench { .. } | Command::BenchMultinode { .. }) { "warn" } else { "info" };
    host_harness::init_tracing_with(matches!(cli.command, Command::Scenario { .. }), default_log);
    let mut config = RuntimeConfig { cache_dir: cli.cache_dir, ..host_harness::default_runtime_config() };
    if let Some(component) = cli.component {
        config.component = component.into();
    }
    let result = match cli.command {
        Command::Scenario { file, report, strict, show_pins, quiet } => {
            match run_scenario(file, report, config, show_pins, quiet) {
                Ok(false) if strict => return ExitCode::from(1),
                other => other.map(drop),
            }
        }
        Command::Stub { config: file, port, start, speed } => run_stub(file, port, start, speed),
        Command::Bench { json, profile_native } => bench::run(config, json, profile_native),
        Command::BenchMultinode { json } => {
            let url = ["SMARTLOCK_DB", "SMARTLOCK_TEST_PG"]
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()));
            match url {
                Some(url) => bench::multinode::run(config, &url, json),
                None => Err(anyhow::anyhow!(
                    "bench-multinode needs a PostgreSQL URL in SMARTLOCK_DB or SMARTLOCK_TEST_PG (.ci/pg-start starts one)"
                )),
            }
        }
        Command::Drive { scenario, stub, db } => load(&scenario).and_then(|s| drive::run(&s, &stub, &db, config)),
        Command::Serve {
            db,
            stub,
            takeover_grace,
            port,
            token_file,
            demo,
            speed,
            ttlock_client_id,
            ttlock_client_secret_file,
            max_nights,
            max_connections,
            read_timeout,
            routes,
            token,
            ttlock_client_secret,
        } => {
            if token.is_some() || ttlock_client_secret.is_some() {
                // The value itself is never echoed.
                eprintln!(
                    "error: secrets are not taken on the command line, where every user sees them in `ps`: \
                     give the operator token in SMARTLOCK_TOKEN or --token-file, the TTLock application \
                     secret in SMARTLOCK_TTLOCK_CLIENT_SECRET or --ttlock-client-secret-file"
                );
                return ExitCode::from(2);
            }
            let db = match database(db) {
                Ok(db) => db,
                Err(code) => return code,
            };
            let limits = serve::Limits {
                max_connections,
                read_timeout: std::time::Duration::from_secs(read_timeout),
                ..serve::Limits::default()
            };
            serve::SecretSources::from_env(token_file, ttlock_client_id, ttlock_client_secret_file).and_then(
                |secrets| {
                    let options = serve::ServeOptions {
                        db,
                        stub,
                        takeover_grace: std::time::Duration::from_secs(takeover_grace),
                        port,
                        secrets,
                        demo,
                        speed,
                        max_nights,
                        limits,
                        routes,
                    };
                    serve::run(options, config)
                },
            )
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the scenario format promises it for invalid files.
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            if e.downcast_ref::<InvalidScenario>().is_some() || e.downcast_ref::<serve::UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// The database `serve` uses: `--db`, else `SMARTLOCK_DB`, else
/// `smartlock.sqlite`. A URL with a password on the command line is
/// refused (exit code 2; the password is not repeated): every user sees it
/// in `ps`.
fn database(flag: Option<String>) -> Result<serve::db::DbTarget, ExitCode> {
    let from_env = std::env::var(serve::db::DB_ENV).ok().filter(|v| !v.is_empty());
    match (flag, from_env) {
        (Some(_), Some(_)) => {
            eprintln!("error: give the database once: --db or {}", serve::db::DB_ENV);
            Err(ExitCode::from(2))
        }
        (Some(flag), None) => {
            let target = serve::db::DbTarget::parse(&flag);
            if matches!(&target, serve::db::DbTarget::Postgres(url) if host_harness::imports::postgres::has_password(url))
            {
                eprintln!(
                    "error: the --db URL holds a password, which every user sees in `ps` ({}): put the URL in {} \
                     or the password in PGPASSWORD",
                    target.describe(),
                    serve::db::DB_ENV
                );
                return Err(ExitCode::from(2));
            }
            Ok(target)
        }
        (None, Some(env)) => Ok(serve::db::DbTarget::parse(&env)),
        (None, None) => Ok(serve::db::DbTarget::Sqlite(PathBuf::from("smartlock.sqlite"))),
    }
}

fn load(file: &std::path::Path) -> anyhow::Result<Scenario> {
    Ok(Scenario::load(file)?)
}

/// Runs the file; whether every step succeeded.
fn run_scenario(
    file: PathBuf,
    out: Option<PathBuf>,
    config: RuntimeConfig,
    show_pins: bool,
    quiet: bool,
) -> anyhow::Result<bool> {
    let scenario = load(&file)?;
    let runtime = Runtime::new(config).context("loading the plugin")?;
    let report = scenario::run(&scenario, &RunOptions { runtime: Some(runtime) })?;
    let text = serde_json::to_string_pretty(&report.to_json())?;
    match out {
        Some(path) => std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?,
        None => println!("{text}"),
    }
    if !quiet {
        eprintln!("{}", report.summary(&scenario.lock_zones(), show_pins));
    }
    Ok(report.all_ok())
}

fn run_stub(
    file: PathBuf,
    port: u16,
    start: Option<chrono::DateTime<chrono::Utc>>,
    speed: Option<u32>,
) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(&file).map_err(|e| InvalidScenario(format!("cannot read {}: {e}", file.display())))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| InvalidScenario(format!("{}: {e}", file.display())))?;
    // A scenario file (its vendor worlds and `start`), or a bare igloohome world.
    let is_scenario = crate_vendors().any(|k| value.get(k).is_some());
    let mut config: WorldConfig = if is_scenario {
        serde_json::from_value(value).map_err(|e| InvalidScenario(format!("{}: {e}", file.display())))?
    } else {
        let igloohome = serde_json::from_value(value)
            .map_err(|e| InvalidScenario(format!("{}: igloohome: {e}", file.display())))?;
        WorldConfig { igloohome: Some(igloohome), ..WorldConfig::default() }
    };
    if let Some(start) = start {
        config.start = Some(start);
    }
    let now = match config.start {
        Some(s) => s.timestamp(),
        None => host_harness::Clock::now(&host_harness::SystemClock),
    };
    config.validate().map_err(|e| InvalidScenario(format!("{}: {e}", file.display())))?;
    let world = World::new(config, now);
    if let Some(speed) = speed {
        world.run_clock(speed);
    }
    host_harness::stubs::serve_forever(world, port).context("serving the stub")?;
    Ok(())
}

/// The vendor worlds a scenario file may hold, by their keys.
fn crate_vendors() -> impl Iterator<Item = &'static str> {
    host_harness::stubs::Vendor::ALL.into_iter().map(|v| v.as_str())
}

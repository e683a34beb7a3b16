//! `host-harness`: the command line of the plugin host (placeholder: loads
//! the component and checks that it answers).

use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
use host_harness::{Runtime, RuntimeConfig, Tenant};

#[derive(Parser)]
#[command(
    name = "host-harness",
    about = "Runs the smart-lock plugin component in a wasmtime sandbox."
)]
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
    /// Loads the component, calls it once and prints what it took.
    Info,
}

fn main() -> anyhow::Result<()> {
    host_harness::init_tracing();
    let cli = Cli::parse();
    let mut config = RuntimeConfig {
        cache_dir: cli.cache_dir,
        ..RuntimeConfig::default()
    };
    if let Some(component) = cli.component {
        config.component = component;
    }
    match cli.command {
        Command::Info => {
            let component = config.component.clone();
            let runtime = Runtime::new(config)?;
            let tenant = runtime.tenant(Tenant::new("info"));
            let started = Instant::now();
            let rendered = tenant.render_variable("smartlock_code", "no-such-booking")?;
            println!("component: {}", component.display());
            println!("size: {} bytes", runtime.component_size());
            println!("load: {:.1} ms", runtime.load_time().as_secs_f64() * 1000.0);
            println!(
                "first call (render-variable): {:.2} ms -> {rendered:?}",
                started.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
    Ok(())
}

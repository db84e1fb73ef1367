//! `crdt-leader`: a thin shell over the `crdt_leader` library. `crdt-leader --help`
//! lists the options; `crdt-leader demo` starts three leaders on loopback.
#![forbid(unsafe_code)]

mod demo;
mod settings;

use clap::Parser;
use crdt_leader::Node;
use settings::{Cli, Cmd};
use std::process::ExitCode;

/// The server's allocator: glibc malloc cost about a third of the HTTP workers' CPU
/// under the load benchmark (see the dependency's note in Cargo.toml).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Resolves on SIGTERM or Ctrl-C.
pub(crate) async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn serve(cli: &Cli) -> Result<(), String> {
    let config = cli.node_config()?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let node = Node::start(config).await.map_err(|e| e.to_string())?;
    if let Some(a) = node.http_addr() {
        println!("crdt-leader {}: HTTP on {scheme}://{a}", node.id());
    }
    if let Some(a) = node.peer_addr() {
        println!("crdt-leader {}: peers on {a}", node.id());
    }
    if node.http_addr().is_none() && node.peer_addr().is_none() {
        eprintln!(
            "crdt-leader {}: no --http and no --peer-listen: nothing can connect to this leader (see --help)",
            node.id()
        );
    }
    wait_for_signal().await;
    tracing::info!("signal received: draining");
    node.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only on a terminal, not in a file or a journal.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crdt-leader: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match &cli.command {
            Some(Cmd::Demo { smoke, app_dir }) => demo::demo(*smoke, app_dir.clone()).await,
            None => serve(&cli).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crdt-leader: {e}");
            ExitCode::FAILURE
        }
    }
}

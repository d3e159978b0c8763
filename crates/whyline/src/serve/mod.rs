//! `whyline serve`: the map as a live web page and a read-only JSON API.
//!
//! Wiring only: [`state`] keeps the catalog and data fresh, [`guard`] applies
//! the safety rules to every request, [`api`] answers from the snapshot with
//! the same functions the CLI uses, [`assets`] serves the embedded page.

mod alerts;
mod api;
mod assets;
mod engine;
mod file;
mod guard;
mod outbox;
mod state;

pub(crate) use api::OPENAPI;

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::middleware;

use crate::cli::ServeArgs;
use state::{Config, Shared};

/// Reads a duration flag.
/// The shortest bearer token accepted, in bytes.
const MIN_TOKEN_BYTES: usize = 16;

/// The token from --token-file, else $WHYLINE_TOKEN.
fn token(args: &ServeArgs) -> Result<Option<String>, String> {
    let token = match &args.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| format!("--token-file {}: {e}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("WHYLINE_TOKEN")
            .ok()
            .map(|t| t.trim().to_string()),
    };
    match token {
        Some(t) if t.is_empty() => Err(
            "the token is empty: put a long random string in $WHYLINE_TOKEN or the --token-file"
                .to_string(),
        ),
        Some(t) if t.chars().any(char::is_whitespace) => Err(
            "the token holds whitespace: use one word, e.g. from `openssl rand -hex 32`"
                .to_string(),
        ),
        // A short token can be guessed: 16 bytes is the least a random
        // secret should have (OWASP's session-identifier guidance).
        Some(t) if t.len() < MIN_TOKEN_BYTES => Err(format!(
            "the token is {} bytes long, under the {MIN_TOKEN_BYTES} a guess-proof secret needs: make one with `openssl rand -hex 32`",
            t.len()
        )),
        other => Ok(other),
    }
}

/// Where to listen, and whether it is loopback only.
fn listen_address(text: &str) -> Result<(Vec<SocketAddr>, bool), String> {
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("--listen {text}: {e}; write HOST:PORT, e.g. 127.0.0.1:8080"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("--listen {text}: no address found"));
    }
    let loopback = addrs.iter().all(|a| a.ip().is_loopback());
    Ok((addrs, loopback))
}

fn config(
    args: &ServeArgs,
    catalog_path: std::path::PathBuf,
) -> Result<(Config, Vec<SocketAddr>), String> {
    let (addrs, loopback) = listen_address(&args.listen)?;
    let token = token(args)?;
    if !loopback && token.is_none() {
        return Err(format!(
            "refusing to listen on {} without a token: anyone who can reach it could read your metrics. Set $WHYLINE_TOKEN or give --token-file FILE (or listen on 127.0.0.1)",
            args.listen
        ));
    }
    let from_file = match &args.config {
        Some(path) => file::read(path)?,
        None => file::FileConfig::default(),
    };
    let notify: Vec<String> = from_file
        .notify
        .iter()
        .chain(&args.notify)
        .cloned()
        .collect();
    let notifiers = alerts::notifiers(&notify)?;
    let pagerduty_key = std::env::var("WHYLINE_PAGERDUTY_ROUTING_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty());
    if notifiers.iter().any(|n| n.kind == alerts::Kind::PagerDuty) && pagerduty_key.is_none() {
        return Err(
            "--notify pagerduty needs the integration's routing key in $WHYLINE_PAGERDUTY_ROUTING_KEY"
                .to_string(),
        );
    }
    if !notifiers.is_empty() && token.is_none() {
        return Err("--notify needs a token: the alert route always asks for one. Set $WHYLINE_TOKEN or give --token-file FILE, and give Alertmanager the same token".to_string());
    }
    let state_dir = match (
        args.state.as_ref().or(from_file.state.as_ref()),
        notifiers.is_empty(),
    ) {
        (Some(dir), _) => dir.clone(),
        (None, true) => std::path::PathBuf::new(),
        (None, false) => alerts::default_state_dir().ok_or(
            "no state folder: give --state DIR (where received alerts wait until delivered)",
        )?,
    };
    let page_url = args.page_url.clone().or(from_file.page_url);
    Ok((
        Config {
            catalog_path,
            data_file: args.data.clone(),
            refresh: args.refresh,
            lookback_ms: args.lookback,
            source_timeout: args.source_timeout,
            concurrency: args.concurrency.max(1),
            token,
            request_timeout: args.request_timeout,
            watch_every: Duration::from_millis(500),
            alerts: alerts::AlertConfig {
                notifiers,
                state_dir,
                page_url,
                pagerduty_key,
            },
            status_from_alerts: args.status_from_alerts,
        },
        addrs,
    ))
}

/// Runs the command until interrupted.
pub(crate) fn run(args: &ServeArgs) -> ExitCode {
    let (catalog_path, checked) = match crate::load(args.catalog.catalog.as_ref()) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if crate::common::require_valid(&checked).is_err() {
        return ExitCode::from(2);
    }
    let (config, addrs) = match config(args, catalog_path) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the server's runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let metrics = checked.catalog.metrics.len();
    let receiver = if config.alerts.notifiers.is_empty() {
        None
    } else {
        match alerts::Receiver::open(&config.alerts) {
            Ok(r) => Some(r),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
    };
    let shared = Arc::new(Shared::new(config, checked, receiver));
    let served = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addrs.as_slice())
            .await
            .map_err(|e| format!("cannot listen on {:?}: {e}", addrs))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        let _ = shared.local_url.set(format!("http://{local}/"));
        state::start_background(&shared);
        alerts::start(&shared);
        if let Some(receiver) = &shared.receiver {
            eprintln!(
                "whyline: alerts from Alertmanager at http://{local}{} go to {} (waiting in {})",
                alerts::ROUTE,
                shared
                    .config
                    .alerts
                    .notifiers
                    .iter()
                    .map(|n| n.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                receiver.outbox.path().display()
            );
        }
        let app = api::router()
            .fallback(api::not_found)
            .layer(middleware::from_fn_with_state(
                Arc::clone(&shared),
                guard::guard,
            ))
            .with_state(Arc::clone(&shared));
        eprintln!(
            "whyline: serving http://{local}/ ({metrics} metrics from {}; {})",
            shared.config.catalog_path.display(),
            if shared.config.token.is_some() {
                "the API needs the bearer token"
            } else {
                "no token"
            }
        );
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown())
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    eprintln!("whyline: stopping");
}

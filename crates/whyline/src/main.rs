//! The `whyline` binary: parses arguments, finds the catalog, and wires the
//! library crates to stdout/stderr and exit codes. No analysis lives here.

mod audit;
mod check;
mod cli;
mod clock;
mod common;
mod contract;
mod diagnostics;
mod edges;
mod export;
mod git;
mod graph;
mod import;
mod markdown;
mod output;
mod progress;
mod pull;
mod report;
mod serve;
mod simulate;
mod why;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};

/// How a command ended, as the CLI contract's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// 0: all good.
    Ok,
    /// 1: valid input, but the answer is a failure (a metric fails a test).
    Fails,
    /// 2: the input is invalid or could not be read.
    Invalid,
}

/// The catalog path: the flag (or `$WHYLINE_CATALOG`), else `./metrics/`, else `./whyline.yaml`.
fn catalog_path(given: Option<&PathBuf>) -> PathBuf {
    if let Some(path) = given {
        return path.clone();
    }
    let folder = PathBuf::from("metrics");
    if folder.is_dir() {
        folder
    } else {
        PathBuf::from("whyline.yaml")
    }
}

pub(crate) fn load(
    given: Option<&PathBuf>,
) -> Result<(PathBuf, whyline_catalog::Checked), ExitCode> {
    let path = catalog_path(given);
    if given.is_none() && !path.exists() {
        eprintln!(
            "error: no catalog found: give one with --catalog PATH or $WHYLINE_CATALOG, or create ./metrics/ or ./whyline.yaml"
        );
        return Err(ExitCode::from(2));
    }
    match whyline_catalog::load(&path) {
        Ok(checked) => Ok((path, checked)),
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(2))
        }
    }
}

/// Output piped into `head` or `less` may be cut short: like every Unix tool,
/// whyline then ends quietly on SIGPIPE. Rust ignores the signal by default,
/// which turns a closed pipe into a panic inside `println!`.
#[cfg(unix)]
fn end_quietly_on_a_closed_pipe() {
    // SAFETY: called first thing in `main`, before any other thread exists;
    // restoring the default disposition of SIGPIPE has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn end_quietly_on_a_closed_pipe() {}

fn main() -> ExitCode {
    end_quietly_on_a_closed_pipe();
    let cli = Cli::parse();
    let outcome = match &cli.command {
        Command::Check(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((path, checked)) => check::run(args, &checked, &path),
            Err(code) => return code,
        },
        Command::Graph(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => graph::run(args, &checked),
            Err(code) => return code,
        },
        Command::Pull(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => pull::run(args, &checked),
            Err(code) => return code,
        },
        Command::Why(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => why::run(args, &checked),
            Err(code) => return code,
        },
        Command::Simulate(args) => simulate::run(args),
        Command::Demo(args) => simulate::demo(args),
        Command::Audit(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => audit::run(args, &checked),
            Err(code) => return code,
        },
        Command::Report(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => report::run(args, &checked),
            Err(code) => return code,
        },
        Command::Review(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => audit::review(args, &checked),
            Err(code) => return code,
        },
        Command::Serve(args) => return serve::run(args),
        Command::Export(cli::ExportKind::PrometheusRules(args)) => {
            match load(args.catalog.catalog.as_ref()) {
                Ok((path, checked)) => export::prometheus_rules(args, &checked, &path),
                Err(code) => return code,
            }
        }
        Command::Import(args) => import::run(args),
        Command::Focus(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => audit::focus(args, &checked),
            Err(code) => return code,
        },
        Command::Edges(args) => match load(args.catalog.catalog.as_ref()) {
            Ok((_, checked)) => edges::run(args, &checked),
            Err(code) => return code,
        },
        Command::Completions { shell } => {
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(*shell, &mut command, "whyline", &mut std::io::stdout());
            Outcome::Ok
        }
        Command::Man => {
            let command = <Cli as clap::CommandFactory>::command();
            let mut page = Vec::new();
            match clap_mangen::Man::new(command).render(&mut page) {
                Ok(()) => {
                    use std::io::Write as _;
                    let _ = std::io::stdout().write_all(&page);
                    Outcome::Ok
                }
                Err(e) => {
                    eprintln!("error: cannot render the manual page: {e}");
                    Outcome::Invalid
                }
            }
        }
        Command::Schema { name } => contract::print_schema(name.as_deref()),
    };
    ExitCode::from(match outcome {
        Outcome::Ok => 0,
        Outcome::Fails => 1,
        Outcome::Invalid => 2,
    })
}

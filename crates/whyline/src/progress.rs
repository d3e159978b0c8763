//! Waiting for data sources, shown on a terminal once it takes more than a second.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use whyline_sources::Progress;

/// How long a read runs before its progress is drawn: quick answers stay clean.
const SHOW_AFTER: Duration = Duration::from_secs(1);

/// Progress of a read on standard error when it is a terminal; nothing otherwise.
/// Once drawn, the total wait is printed when the read ends.
pub(crate) struct Waiting {
    bar: ProgressBar,
    started: Instant,
    shown: Arc<AtomicBool>,
    deadline: Duration,
}

impl Waiting {
    /// `doing` names the work ("reading", "pulling"); `deadline` is the most it may take.
    pub(crate) fn new(doing: &str, deadline: Duration) -> Self {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        let template = format!(
            "{{spinner}} {doing} {{pos}}/{{len}} metrics, {{elapsed}} of at most {} (--timeout) {{msg}}",
            seconds(deadline)
        );
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        let shown = Arc::new(AtomicBool::new(false));
        if std::io::stderr().is_terminal() {
            let (bar, shown) = (bar.clone(), Arc::clone(&shown));
            std::thread::spawn(move || {
                let until = Instant::now() + SHOW_AFTER;
                while Instant::now() < until {
                    if bar.is_finished() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                if !bar.is_finished() {
                    shown.store(true, Ordering::SeqCst);
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        Waiting {
            bar,
            started: Instant::now(),
            shown,
            deadline,
        }
    }
}

impl Progress for Waiting {
    fn start(&self, total: usize) {
        self.bar.inc_length(total as u64);
    }
    fn done(&self, metric: &str) {
        self.bar.set_message(metric.to_string());
        self.bar.inc(1);
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        if self.shown.load(Ordering::SeqCst) {
            eprintln!(
                "waited {:.1} s for the data sources (at most {}: --timeout)",
                self.started.elapsed().as_secs_f64(),
                seconds(self.deadline)
            );
        }
    }
}

/// "60 s", "0.5 s": a budget as a person reads it.
pub(crate) fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// Parses `--timeout`: the catalog's duration grammar, more than zero.
pub(crate) fn parse_timeout(text: &str) -> Result<Duration, String> {
    let ms = whyline_series::parse_duration_ms(text).map_err(|e| e.to_string())?;
    if ms <= 0 {
        return Err("the wait must be longer than zero, e.g. 30s or 2m".to_string());
    }
    Ok(Duration::from_millis(ms.unsigned_abs()))
}

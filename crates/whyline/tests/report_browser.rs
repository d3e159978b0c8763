//! The leadership report in a real headless Chromium: it renders with every
//! business metric's title and status visible, no console errors, no network
//! request from the page; the screenshot is kept as a CI artefact
//! (`target/artefacts/report.png`).
//!
//! Skips with a message when Chromium is not installed, except under
//! `WHYLINE_REQUIRE_SERVICES=1` (set by `.ci/run`), where it fails.

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var("WHYLINE_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "chromium is not installed but WHYLINE_REQUIRE_SERVICES=1"
        );
        eprintln!("skipped: chromium is not installed (apt-get install chromium, or run .ci/run)");
    }
    found
}

fn whyline(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_whyline"))
        .args(args)
        .current_dir(dir)
        .env_remove("WHYLINE_CATALOG")
        .output()
        .expect("runs")
}

/// Chromium with the flags that keep a headless run quiet and local.
fn headless(browser: &Path, profile: &Path) -> Command {
    let mut c = Command::new(browser);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

#[test]
fn the_leadership_report_renders_offline_with_every_business_metric() {
    let Some(browser) = chromium() else { return };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let catalog = repo.join("examples/shop").display().to_string();
    let dir = tempfile::tempdir().expect("tempdir");
    let out = whyline(
        dir.path(),
        &[
            "simulate",
            "--catalog",
            &catalog,
            "--fault",
            "checkout_cpu_utilization:step:8",
            "-o",
            "sim",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = whyline(
        dir.path(),
        &[
            "report",
            "--catalog",
            &catalog,
            "--data",
            "sim/data.csv",
            "--audience",
            "leadership",
            "-o",
            "report.html",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = dir.path().join("report.html");
    let html = std::fs::read_to_string(&page).expect("report");
    assert!(
        !html.contains("<script")
            && !html.contains("<link")
            && !html.contains("src=\"http")
            && !html.contains("url("),
        "self-contained"
    );
    let url = format!("file://{}", page.display());

    // The DOM after load, with the browser's console on stderr and a network log.
    let netlog = dir.path().join("net.json");
    let dom = headless(&browser, &dir.path().join("p1"))
        .args(["--enable-logging=stderr", "--v=0"])
        .arg(format!("--log-net-log={}", netlog.display()))
        .args(["--dump-dom", &url])
        .output()
        .expect("chromium runs");
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    let console = String::from_utf8_lossy(&dom.stderr);
    assert!(
        !console.contains("CONSOLE") && !console.contains("Uncaught"),
        "console errors: {console}"
    );
    let checked = whyline_catalog::load(&repo.join("examples/shop")).expect("catalog");
    let business: Vec<&whyline_catalog::Metric> = checked
        .catalog
        .metrics
        .iter()
        .filter(|m| m.layer == whyline_catalog::Layer::Business)
        .collect();
    assert!(!business.is_empty());
    for m in &business {
        let section = format!(
            "<section class=\"metric\" data-metric=\"{}\" data-status=\"",
            m.id
        );
        let at = dom_text
            .find(&section)
            .unwrap_or_else(|| panic!("no section for {} in the DOM", m.id));
        let rest = &dom_text[at..];
        let status = rest[section.len()..].split('"').next().unwrap_or("");
        assert!(
            ["red", "amber", "green", "no data"].contains(&status),
            "{}: {status}",
            m.id
        );
        let body = &rest[..rest.find("</section>").unwrap_or(rest.len())];
        assert!(
            body.contains(&format!("<h2 class=\"title\">{}</h2>", m.name)),
            "{} title",
            m.id
        );
        assert!(
            body.contains(&format!(">{status}</span>")),
            "{} status shown",
            m.id
        );
    }
    assert!(
        dom_text.contains("data-metric=\"revenue\" data-status=\"red\"")
            || dom_text.contains("data-metric=\"revenue\" data-status=\"amber\""),
        "revenue is red or amber"
    );
    assert!(
        dom_text.contains("Why: Revenue per hour"),
        "the why of revenue is on the page"
    );

    // The charts read as a printed time-series panel: round local times on
    // the axis, values with the unit, labelled thresholds and incident, and
    // the root cause's own chart beside the metric it explains.
    let start = dom_text
        .find("data-metric=\"revenue\"")
        .expect("revenue section");
    let revenue = &dom_text[start..];
    let revenue = &revenue[..revenue.find("</section>").unwrap_or(revenue.len())];
    let texts = svg_texts(revenue);
    let is_clock = |t: &str| {
        t.len() == 5
            && t.as_bytes()[2] == b':'
            && t.chars().filter(char::is_ascii_digit).count() == 4
    };
    assert!(
        texts.iter().filter(|t| is_clock(t)).count() >= 3,
        "time ticks: {texts:?}"
    );
    assert!(texts.iter().any(|t| t == "06:00"), "round ticks: {texts:?}");
    assert!(
        texts.iter().any(|t| t == "12,000 USD/h"),
        "values with unit and thousands separator: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t == "red < 9,000 USD/h")
            && texts.iter().any(|t| t == "amber < 10,000 USD/h"),
        "threshold labels: {texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.starts_with("incident from ") && is_clock(&t[14..])),
        "incident label: {texts:?}"
    );
    assert!(
        revenue.contains("data-root=\"checkout_cpu_utilization\"")
            && texts
                .iter()
                .any(|t| t == "root cause: Checkout CPU utilisation"),
        "the root cause's chart: {texts:?}"
    );
    assert!(
        dom_text.contains("<h1>2 March 2026: Revenue per hour red since "),
        "a title a person would write"
    );
    // Okabe-Ito blue for the series, never plotters' default pure blue.
    assert!(revenue.contains("#0072B2") && !revenue.contains("#0000FF"));

    // No request left the page: the only URL requests in the network log are
    // the browser's own update and account services, never from the page.
    let log = std::fs::read_to_string(&netlog).unwrap_or_default();
    let own = ["google.com", "googleapis.com", "gvt1.com", "gstatic.com"];
    for chunk in log.split("\"url\":\"").skip(1) {
        let requested = chunk.split('"').next().unwrap_or("");
        let browser_own = own.iter().any(|host| requested.contains(host));
        assert!(
            requested.starts_with("file://") || requested.starts_with("data:") || browser_own,
            "the page requested {requested}"
        );
    }

    // The screenshot, kept for CI.
    let artefacts = repo.join("target/artefacts");
    std::fs::create_dir_all(&artefacts).expect("artefacts folder");
    let shot = artefacts.join("report.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(&browser, &dir.path().join("p2"))
        .args(["--window-size=800,2400"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0) > 10_000,
        "a real screenshot"
    );

    // Printed to PDF (A4), its first page as a picture, for CI.
    let pdf = dir.path().join("report.pdf");
    let out = headless(&browser, &dir.path().join("p3"))
        .arg("--no-pdf-header-footer")
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success() && pdf.is_file(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = artefacts.join("report-pdf");
    match Command::new("pdftoppm")
        .args(["-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile"])
        .arg(&pdf)
        .arg(&page)
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let png = artefacts.join("report-pdf.png");
            assert!(
                std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0) > 10_000,
                "a real printed page"
            );
        }
        Err(e) => {
            assert!(
                std::env::var("WHYLINE_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "pdftoppm cannot run ({e}) but WHYLINE_REQUIRE_SERVICES=1"
            );
            eprintln!(
                "skipped the printed page: pdftoppm is not installed (apt-get install poppler-utils)"
            );
        }
    }
}

/// The text of every SVG `<text>` element in `html`, unescaped.
fn svg_texts(html: &str) -> Vec<String> {
    html.split("<text")
        .skip(1)
        .filter_map(|chunk| {
            let body = &chunk[chunk.find('>')? + 1..];
            let text = &body[..body.find("</text>")?];
            Some(
                text.trim()
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

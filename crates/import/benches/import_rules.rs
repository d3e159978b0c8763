//! Import speed: 5,000 alerting rules (2,500 names at a warning and a
//! critical severity, each with a guard) and 500 recording rules in one
//! rule file, drafted and rendered, as a team's whole rule set would be.
//! `cargo bench -p whyline-import --bench import_rules`.

use std::time::Instant;

use whyline_import::{Input, import, render};

fn rules(names: usize, records: usize) -> String {
    let mut text = String::from("groups:\n  - name: generated\n    rules:\n");
    for r in 0..records {
        text.push_str(&format!(
            "      - record: svc{r}:http_requests:rate5m\n        expr: sum(rate(http_requests_total{{service=\"svc{r}\"}}[5m]))\n"
        ));
    }
    for n in 0..names {
        for (severity, threshold) in [("warning", 0.01), ("critical", 0.05)] {
            text.push_str(&format!(
                "      - alert: Service{n}ErrorRatioHigh\n        expr: sum(rate(http_requests_total{{service=\"svc{n}\",code=~\"5..\"}}[5m])) / svc{}:http_requests:rate5m > {threshold} and svc{}:http_requests:rate5m > 1\n        for: 5m\n        labels: {{ severity: {severity}, team: team-{} }}\n        annotations:\n          summary: Service {n} fails more than {threshold} of its requests.\n          runbook_url: https://runbooks.example.com/svc{n}\n",
                n % records,
                n % records,
                n % 40
            ));
        }
    }
    text
}

fn main() {
    let text = rules(2_500, 500);
    let input = [Input {
        name: "rules.yaml".to_string(),
        text,
    }];
    let mut best = f64::INFINITY;
    let mut metrics = 0;
    for _ in 0..3 {
        let started = Instant::now();
        let draft = import(&input, None);
        let bytes: usize = draft.files.iter().map(|f| render(f).len()).sum();
        let elapsed = started.elapsed().as_secs_f64();
        best = best.min(elapsed);
        metrics = draft.files.iter().map(|f| f.metrics.len()).sum::<usize>();
        assert!(
            bytes > 0 && draft.skipped.is_empty(),
            "{:?}",
            draft.skipped.first()
        );
    }
    println!(
        "import: 5,000 alerting + 500 recording rules ({} KiB) -> {metrics} metrics, drafted and rendered in {:.0} ms (best of 3)",
        input[0].text.len() / 1024,
        best * 1000.0
    );
}

//! Acceptance on the public datasets (skipped, with a message, when
//! `../shared/datasets` is absent).

mod datasets;

use whyline_map::MetricGraph;
use whyline_why::{Explanation, Settings, explain};

fn run(case: &datasets::Case) -> Vec<String> {
    let graph = MetricGraph::new(&case.catalog);
    let data: Vec<Option<&[f64]>> = case
        .catalog
        .metrics
        .iter()
        .map(|m| case.data.get(&m.id).map(Vec::as_slice))
        .collect();
    let series = |m: usize| data[m];
    let target = case.catalog.index_of(&case.target).expect("target");
    let answer: Explanation = explain(
        &case.catalog,
        &graph,
        &series,
        target,
        None,
        Some(case.windows.clone()),
        &Settings::default(),
    );
    if std::env::var_os("WHYLINE_DEBUG").is_some() {
        for c in &answer.causes {
            eprintln!(
                "{} evidence {:.2} explained {:.3} consistent {} change {:?}",
                case.catalog.metrics[c.metric].id, c.evidence, c.explained, c.consistent, c.change
            );
        }
        eprintln!(
            "status {:?} {} unexplained {}",
            answer.status, answer.reason, answer.unexplained
        );
    }
    answer
        .causes
        .iter()
        .map(|c| case.catalog.metrics[c.metric].id.clone())
        .collect()
}

fn skip() {
    eprintln!("skipped: ../shared/datasets is not present");
}

#[test]
fn online_shop_profit_drop_is_page_views() {
    let Some(case) = datasets::online_shop_quarter() else {
        return skip();
    };
    let causes = run(&case);
    assert_eq!(
        causes.first().map(String::as_str),
        Some("page_views"),
        "{causes:?}"
    );
}

#[test]
fn microservice_outlier_is_the_caching_service() {
    let Some(case) = datasets::microservice() else {
        return skip();
    };
    let causes = run(&case);
    assert_eq!(
        causes.first().map(String::as_str),
        Some("caching_service"),
        "{causes:?}"
    );
}

#[test]
fn supply_chain_has_both_roots_in_the_top_two() {
    let Some(case) = datasets::supply_chain() else {
        return skip();
    };
    let causes = run(&case);
    let top2: Vec<&str> = causes.iter().take(2).map(String::as_str).collect();
    assert!(
        top2.contains(&"demand") && top2.contains(&"confirmed"),
        "{causes:?}"
    );
}

/// PetShop train split (Hardt et al., CLeaR 2024), the paper's protocol, both
/// question forms: top-1 >= 0.80, top-3 >= 0.95, specificity >= 0.90 over the
/// 16 issues and 24 calm windows, and ahead of the dataset's own
/// anomaly-traversal baseline run on the same data. (Before the calibrated
/// excursions, whyline named the true node first in 0 of 16 asked `--at` the
/// last issue row, and in 2 of 16 with the two periods.)
#[test]
fn petshop_train_roots_are_found_and_calm_windows_name_nothing() {
    use datasets::petshop::{Form, SCENARIOS, Score, evaluate, scenario};
    let loaded: Vec<_> = SCENARIOS.iter().filter_map(|s| scenario(s)).collect();
    if loaded.is_empty() {
        eprintln!("skipped: ../shared/datasets/petshop-train is not present");
        return;
    }
    for form in Form::ALL {
        let mut ours = Score::default();
        let mut baseline = Score::default();
        for s in &loaded {
            for kind in ["latency", "availability"] {
                let (o, b) = evaluate(s, kind, form);
                ours.add(&o);
                baseline.add(&b);
            }
        }
        assert_eq!(ours.cases, 16, "{form:?}");
        assert!(ours.top1() >= 0.80, "{form:?}: {}", ours.line());
        assert!(ours.top3() >= 0.95, "{form:?}: {}", ours.line());
        assert!(ours.specificity() >= 0.90, "{form:?}: {}", ours.line());
        assert!(
            ours.top1() > baseline.top1() && ours.specificity() > baseline.specificity(),
            "{form:?}: whyline {} vs traversal {}",
            ours.line(),
            baseline.line()
        );
    }
}

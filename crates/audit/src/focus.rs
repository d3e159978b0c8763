//! Where to start mapping: the services that matter most. Don't map
//! everything; pick the three to five services that triggered code reds
//! before, that directly generate revenue, that would have leadership asking
//! within an hour. In the map's terms: business metrics' red episodes whose
//! breadcrumb went through the service, edges from the service straight
//! into business metrics, and how many business metrics sit downstream.

use std::collections::{BTreeMap, BTreeSet};

use whyline_catalog::{Catalog, Layer};
use whyline_map::MetricGraph;

use crate::Audit;

/// The most services proposed: the seed's "three to five" (every service
/// that matters up to five, so three or more whenever three matter).
pub const PROPOSE_AT_MOST: usize = 5;

/// One service and why it matters.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceFocus {
    /// The service (its metrics' `service`; their owner in a catalog without services).
    pub service: String,
    /// Red episodes of business metrics whose breadcrumb went through it.
    pub red_episodes: usize,
    /// The business metrics of those episodes.
    pub red_business: BTreeSet<usize>,
    /// Business metrics one of its metrics drives directly.
    pub drives_directly: BTreeSet<usize>,
    /// Business metrics downstream of its metrics (directly or not).
    pub downstream: BTreeSet<usize>,
    /// Whether it is among the services proposed to map first.
    pub proposed: bool,
}

impl ServiceFocus {
    /// Whether anything at all points at it.
    fn matters(&self) -> bool {
        self.red_episodes > 0 || !self.drives_directly.is_empty() || !self.downstream.is_empty()
    }
}

/// The service a service or system metric belongs to (business metrics are
/// what services drive, not a service to map); by owner only in a catalog
/// that names no service at all.
fn service_of(catalog: &Catalog, m: usize, by_owner: bool) -> Option<&str> {
    let metric = &catalog.metrics[m];
    if metric.layer == Layer::Business {
        return None;
    }
    if by_owner {
        metric.owner.as_deref()
    } else {
        metric.service.as_deref()
    }
}

/// Ranks every service, best first: by red business episodes through it,
/// then business metrics it drives directly, then business metrics
/// downstream, then name; marks the 3 to 5 to map first (those that
/// matter at all, at most 5, at least 3 when there are).
pub fn focus(catalog: &Catalog, graph: &MetricGraph, audit: Option<&Audit>) -> Vec<ServiceFocus> {
    let by_owner = catalog.metrics.iter().all(|m| m.service.is_none());
    let service_of = |catalog, m| service_of(catalog, m, by_owner);
    let mut by_service: BTreeMap<&str, ServiceFocus> = BTreeMap::new();
    for m in 0..catalog.metrics.len() {
        let Some(service) = service_of(catalog, m) else {
            continue;
        };
        by_service.entry(service).or_insert_with(|| ServiceFocus {
            service: service.to_string(),
            red_episodes: 0,
            red_business: BTreeSet::new(),
            drives_directly: BTreeSet::new(),
            downstream: BTreeSet::new(),
            proposed: false,
        });
    }
    // From each business metric up: what drives it, directly and at all (one
    // walk per business metric, so the cost is that of a few `why`s).
    for b in (0..catalog.metrics.len()).filter(|&b| catalog.metrics[b].layer == Layer::Business) {
        for d in graph.drivers_of(b) {
            if let Some(f) = service_of(catalog, d).and_then(|s| by_service.get_mut(s)) {
                f.drives_directly.insert(b);
            }
        }
        for m in graph.upstream(b).into_iter().filter(|&m| m != b) {
            if let Some(f) = service_of(catalog, m).and_then(|s| by_service.get_mut(s)) {
                f.downstream.insert(b);
            }
        }
    }
    if let Some(audit) = audit {
        for a in &audit.metrics {
            if catalog.metrics[a.metric].layer != Layer::Business {
                continue;
            }
            for episode in &a.episodes {
                // The services on the breadcrumb below the business metric.
                let through: BTreeSet<&str> = episode
                    .path
                    .iter()
                    .skip(1)
                    .filter_map(|&m| service_of(catalog, m))
                    .collect();
                for s in through {
                    if let Some(f) = by_service.get_mut(s) {
                        f.red_episodes += 1;
                        f.red_business.insert(a.metric);
                    }
                }
            }
        }
    }
    let mut ranked: Vec<ServiceFocus> = by_service.into_values().collect();
    ranked.sort_by(|a, b| {
        b.red_episodes
            .cmp(&a.red_episodes)
            .then(b.drives_directly.len().cmp(&a.drives_directly.len()))
            .then(b.downstream.len().cmp(&a.downstream.len()))
            .then(a.service.cmp(&b.service))
    });
    let mattering = ranked.iter().filter(|f| f.matters()).count();
    let take = mattering.min(PROPOSE_AT_MOST);
    for f in ranked.iter_mut().take(take) {
        f.proposed = true;
    }
    ranked
}

/// The reasons for a service, in words.
pub fn reasons(catalog: &Catalog, f: &ServiceFocus) -> Vec<String> {
    let ids = |set: &BTreeSet<usize>| {
        let mut names: Vec<String> = set
            .iter()
            .take(3)
            .map(|&m| format!("`{}`", catalog.metrics[m].id))
            .collect();
        if set.len() > 3 {
            names.push(format!("{} more", set.len() - 3));
        }
        names.join(", ")
    };
    let mut out = Vec::new();
    if f.red_episodes > 0 {
        out.push(format!(
            "{} red episode{} of {} went through it",
            f.red_episodes,
            if f.red_episodes == 1 { "" } else { "s" },
            ids(&f.red_business)
        ));
    }
    if !f.drives_directly.is_empty() {
        out.push(format!("drives {} directly", ids(&f.drives_directly)));
    }
    if !f.downstream.is_empty() {
        out.push(format!(
            "{} business metric{} downstream",
            f.downstream.len(),
            if f.downstream.len() == 1 { "" } else { "s" }
        ));
    }
    if out.is_empty() {
        out.push("no business metric depends on it in the map".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Episode, MetricAudit};
    use whyline_catalog::{SourceFile, parse};
    use whyline_map::Verdict;

    fn catalog() -> Catalog {
        // revenue <- checkout_latency (checkout) <- payments_latency (payments);
        // signups <- search_latency (search); cpu (infra) drives payments.
        let text = "version: 1\nmetrics:\n  - { id: revenue, layer: business, service: shop, drivers: [{ metric: checkout_latency, effect: decreases }] }\n  - { id: signups, layer: business, service: shop, drivers: [{ metric: search_latency, effect: decreases }] }\n  - { id: checkout_latency, layer: service, service: checkout, drivers: [{ metric: payments_latency, effect: increases }] }\n  - { id: payments_latency, layer: service, service: payments, drivers: [{ metric: cpu, effect: increases }] }\n  - { id: search_latency, layer: service, service: search }\n  - { id: cpu, layer: system, service: infra }\n  - { id: disk, layer: system, service: storage }\n";
        let checked = parse(vec![SourceFile {
            path: "c.yaml".into(),
            text: text.to_string(),
        }]);
        assert!(checked.is_valid(), "{:?}", checked.diagnostics);
        checked.catalog
    }

    #[test]
    fn structure_alone_ranks_direct_drivers_then_reach() {
        let catalog = catalog();
        let graph = MetricGraph::new(&catalog);
        let ranked = focus(&catalog, &graph, None);
        let order: Vec<&str> = ranked.iter().map(|f| f.service.as_str()).collect();
        // checkout and search drive a business metric directly; payments and
        // infra only reach one; storage nothing (business metrics are no service).
        assert_eq!(
            order,
            ["checkout", "search", "infra", "payments", "storage"]
        );
        let proposed: Vec<&str> = ranked
            .iter()
            .filter(|f| f.proposed)
            .map(|f| f.service.as_str())
            .collect();
        assert_eq!(proposed, ["checkout", "search", "infra", "payments"]);
        assert_eq!(
            reasons(&catalog, &ranked[0]),
            ["drives `revenue` directly", "1 business metric downstream"]
        );
    }

    #[test]
    fn red_episodes_through_a_service_come_first() {
        let catalog = catalog();
        let graph = MetricGraph::new(&catalog);
        let at = |m: &str| catalog.index_of(m).expect("metric");
        let quiet = |m: usize| MetricAudit {
            metric: m,
            verdict: Verdict::Operational,
            reasons: Vec::new(),
            episodes: Vec::new(),
            amber_episodes: Vec::new(),
            statuses: Vec::new(),
            duplicate_of: None,
            flat: false,
            dead: false,
        };
        let mut metrics: Vec<MetricAudit> = (0..catalog.metrics.len()).map(quiet).collect();
        // Revenue was red twice, both times down to the payments CPU.
        let path = vec![
            at("revenue"),
            at("checkout_latency"),
            at("payments_latency"),
            at("cpu"),
        ];
        metrics[at("revenue")].episodes = (0..2)
            .map(|k| Episode {
                start: 10 * k,
                end: 10 * k + 5,
                explained: true,
                cause: Some(at("cpu")),
                path: path.clone(),
            })
            .collect();
        let audit = Audit {
            coverage: Some(1.0),
            metrics,
        };
        let ranked = focus(&catalog, &graph, Some(&audit));
        let order: Vec<&str> = ranked.iter().take(4).map(|f| f.service.as_str()).collect();
        assert_eq!(order, ["checkout", "infra", "payments", "search"]);
        assert_eq!(ranked[1].red_episodes, 2);
        assert_eq!(
            reasons(&catalog, &ranked[1])[0],
            "2 red episodes of `revenue` went through it"
        );
    }
}

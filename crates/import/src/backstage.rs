//! Backstage descriptors: who owns each component, and which components
//! depend on which (`dependsOn`, and `consumesApis` joined to the component
//! that `providesApis`). A dependency's failure drives its dependant, so an
//! edge runs from the dependency's metric to the dependant's metric of the
//! same kind (latency to latency, errors to errors), proposed.

use std::collections::BTreeMap;

use whyline_catalog::yaml::Node;
use whyline_catalog::{Effect, Layer};

use crate::draft::{DraftDriver, DraftMetric, Skipped};
use crate::tree::{self, items, text_at};

/// A component as its descriptor states it.
#[derive(Debug, Clone, Default)]
pub struct Component {
    /// `metadata.name`.
    pub name: String,
    /// `spec.owner`.
    pub owner: Option<String>,
    /// Components it depends on, by name.
    pub depends_on: Vec<String>,
    /// APIs it consumes.
    pub consumes: Vec<String>,
    /// APIs it provides.
    pub provides: Vec<String>,
    /// Where it is written.
    pub origin: String,
}

/// Whether a document is a Backstage descriptor.
pub fn is_descriptor(doc: &Node) -> bool {
    text_at(doc, &["apiVersion"]).is_some_and(|v| v.starts_with("backstage.io/"))
}

/// `component:default/checkout` -> `checkout`; `resource:db` is no component.
fn component_ref(reference: &str) -> Option<String> {
    let (kind, name) = match reference.split_once(':') {
        Some((kind, name)) => (kind.to_ascii_lowercase(), name),
        None => ("component".to_string(), reference),
    };
    (kind == "component").then(|| name.rsplit('/').next().unwrap_or(name).to_string())
}

/// Reads a `Component` (other kinds hold no dependencies; an `API`'s owner
/// is the providing component's business).
pub fn read(doc: &Node, name: &str) -> Option<Component> {
    if text_at(doc, &["kind"]).as_deref() != Some("Component") {
        return None;
    }
    let list = |key: &str| -> Vec<String> {
        items(tree::at(doc, &["spec", key]))
            .iter()
            .filter_map(tree::text)
            .collect()
    };
    Some(Component {
        name: text_at(doc, &["metadata", "name"])?,
        owner: text_at(doc, &["spec", "owner"]).map(|o| {
            o.split_once(':').map_or(o.clone(), |(_, n)| {
                n.rsplit('/').next().unwrap_or(n).to_string()
            })
        }),
        depends_on: list("dependsOn")
            .iter()
            .filter_map(|r| component_ref(r))
            .collect(),
        consumes: list("consumesApis"),
        provides: list("providesApis"),
        origin: format!("{name}:{}", doc.location.line),
    })
}

/// The kind of signal a metric is, for pairing across a dependency.
fn kind_of(m: &DraftMetric) -> Option<&'static str> {
    let text = format!("{} {}", m.id, m.name.as_deref().unwrap_or("")).to_ascii_lowercase();
    ["latency", "availability", "error", "saturation"]
        .into_iter()
        .find(|k| text.contains(k))
}

/// Applies the components to the drafted metrics: owners where a metric of
/// the component's service has none, and proposed edges across each
/// dependency; what could not be connected is said.
pub fn apply(components: &[Component], metrics: &mut [DraftMetric], skipped: &mut Vec<Skipped>) {
    let providers: BTreeMap<&str, &str> = components
        .iter()
        .flat_map(|c| {
            c.provides
                .iter()
                .map(move |api| (api.as_str(), c.name.as_str()))
        })
        .collect();
    for c in components {
        for m in metrics.iter_mut() {
            if m.service.as_deref() == Some(c.name.as_str()) && m.owner.is_none() {
                m.owner.clone_from(&c.owner);
            }
        }
        let mut dependencies: Vec<(String, String)> = c
            .depends_on
            .iter()
            .map(|d| (d.clone(), format!("dependsOn {d}")))
            .collect();
        for api in &c.consumes {
            match providers.get(api.as_str()) {
                Some(p) => dependencies.push((p.to_string(), format!("consumes API {api} of {p}"))),
                None => skipped.push(Skipped {
                    origin: c.origin.clone(),
                    reason: format!(
                        "`{}` consumes API `{api}`, which no imported component provides",
                        c.name
                    ),
                }),
            }
        }
        for (dependency, how) in dependencies {
            let dependency = dependency.as_str();
            if !components.iter().any(|other| other.name == dependency) {
                skipped.push(Skipped {
                    origin: c.origin.clone(),
                    reason: format!(
                        "`{}` depends on component `{dependency}` ({how}), which no imported Backstage descriptor defines: import its catalog-info.yaml too",
                        c.name
                    ),
                });
                continue;
            }
            let pairs: Vec<(usize, String)> = metrics
                .iter()
                .enumerate()
                .filter(|(_, m)| {
                    m.service.as_deref() == Some(c.name.as_str()) && m.layer == Layer::Service
                })
                .flat_map(|(i, m)| {
                    let kind = kind_of(m);
                    metrics
                        .iter()
                        .filter(move |d| {
                            d.service.as_deref() == Some(dependency)
                                && d.layer == Layer::Service
                                && kind.is_some()
                                && kind_of(d) == kind
                        })
                        .map(move |d| (i, d.id.clone()))
                })
                .collect();
            if pairs.is_empty() {
                skipped.push(Skipped {
                    origin: c.origin.clone(),
                    reason: format!(
                        "`{}` depends on `{dependency}` ({how}), but no imported service metrics of the same kind on both sides to connect: import their SLOs or rules too",
                        c.name
                    ),
                });
                continue;
            }
            for (i, driver) in pairs {
                if metrics[i].drivers.iter().any(|d| d.metric == driver) {
                    continue;
                }
                metrics[i].drivers.push(DraftDriver {
                    metric: driver,
                    effect: Effect::Increases,
                    lag: None,
                    why: Some(format!(
                        "`{}` {how}: its failures show in its dependant",
                        c.name
                    )),
                    origin: format!("backstage:component:{}", c.name),
                    proposed: true,
                });
            }
        }
    }
}

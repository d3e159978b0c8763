//! The machine-readable contract: one `Serialize` type for every JSON
//! document whyline prints or serves (`--format json`, `truth.json`, the
//! HTTP API), and the JSON Schemas generated from them.
//!
//! The commands build these types and nothing else: a field, a spelling or an
//! enum value changes here or nowhere. The schemas are published in
//! `docs/schemas/` (`whyline schema NAME` prints one); `tests/contract.rs`
//! fails when a published schema no longer matches its type, and validates
//! every command's and route's real output against it. The OpenAPI
//! document's component schemas are generated from the same types
//! ([`openapi`]). Enum values are spelled by `rename_all` from the variant's
//! name, so renaming a variant changes a schema and breaks that test.

pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod edges;
pub(crate) mod import;
pub(crate) mod pull;
pub(crate) mod serve;
pub(crate) mod simulate;
pub(crate) mod why;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Serialize;

/// A metric's status: red or amber by its thresholds or its own history,
/// green, or unknown (no data to judge it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// Past its red threshold, or far off its usual level the bad way.
    Red,
    /// Past its amber threshold, or off its usual level the bad way.
    Amber,
    /// Within its thresholds and its normal range.
    Green,
    /// No data to judge it.
    Unknown,
}

impl From<whyline_why::Status> for Status {
    fn from(s: whyline_why::Status) -> Self {
        match s {
            whyline_why::Status::Red => Status::Red,
            whyline_why::Status::Amber => Status::Amber,
            whyline_why::Status::Green => Status::Green,
            whyline_why::Status::Unknown => Status::Unknown,
        }
    }
}

/// The layer of a metric in the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Layer {
    /// An outcome the business decides on (revenue, conversion).
    Business,
    /// How a service behaves (latency, error rate).
    Service,
    /// A raw system signal (CPU, memory, connections).
    System,
}

impl From<whyline_catalog::Layer> for Layer {
    fn from(l: whyline_catalog::Layer) -> Self {
        match l {
            whyline_catalog::Layer::Business => Layer::Business,
            whyline_catalog::Layer::Service => Layer::Service,
            whyline_catalog::Layer::System => Layer::System,
        }
    }
}

/// The declared sign of a driver edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Effect {
    /// The driver going up pushes the metric up.
    Increases,
    /// The driver going up pushes the metric down.
    Decreases,
}

impl From<whyline_catalog::Effect> for Effect {
    fn from(e: whyline_catalog::Effect) -> Self {
        match e {
            whyline_catalog::Effect::Increases => Effect::Increases,
            whyline_catalog::Effect::Decreases => Effect::Decreases,
        }
    }
}

/// A metric's verdict under the two tests (and, in `audit`, the data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// Keep: a business metric that a decision uses.
    Business,
    /// Keep, on the team's dashboard: a signal that explains something.
    Operational,
    /// Passes the decision test, fails the explanation test: mapping work is owed.
    Unexplained,
    /// Fails the decision test: cut it.
    Discard,
}

impl From<whyline_map::Verdict> for Verdict {
    fn from(v: whyline_map::Verdict) -> Self {
        match v {
            whyline_map::Verdict::Business => Verdict::Business,
            whyline_map::Verdict::Operational => Verdict::Operational,
            whyline_map::Verdict::Unexplained => Verdict::Unexplained,
            whyline_map::Verdict::Discard => Verdict::Discard,
        }
    }
}

/// A span of time, both ends RFC 3339 UTC.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Span {
    /// First instant.
    pub(crate) from: String,
    /// Last instant.
    pub(crate) to: String,
}

/// A metric that could not be read, and why.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct Missing {
    /// The metric id.
    pub(crate) metric: String,
    /// The source tried, e.g. "prometheus `main`" or "`data/shop.csv`".
    pub(crate) source: String,
    /// Why it failed, and what to do about it.
    pub(crate) error: String,
}

impl From<&whyline_sources::Missing> for Missing {
    fn from(m: &whyline_sources::Missing) -> Self {
        Missing {
            metric: m.metric.clone(),
            source: m.source.clone(),
            error: m.error.to_string(),
        }
    }
}

/// A driver edge, by metric ids.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub(crate) struct EdgeIds {
    /// The driver.
    pub(crate) from: String,
    /// The metric it drives.
    pub(crate) to: String,
}

/// `v` when it is a finite number, else null (JSON has no NaN or infinity).
pub(crate) fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// `v` rounded to three decimals, for shares and scores a reader compares.
pub(crate) fn milli(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// One published document: its name (`docs/schemas/NAME.schema.json`,
/// `whyline schema NAME`), what prints it, and its schema.
pub(crate) struct Document {
    /// The schema's file stem.
    pub(crate) name: &'static str,
    /// What prints or serves it.
    pub(crate) printed_by: &'static str,
    /// Its JSON Schema (draft 2020-12), for the document as serialized.
    pub(crate) schema: fn() -> serde_json::Value,
}

fn schema_of<T: JsonSchema>() -> serde_json::Value {
    let schema = SchemaSettings::draft2020_12()
        .for_serialize()
        .into_generator()
        .into_root_schema_for::<T>();
    serde_json::to_value(schema).unwrap_or_default()
}

/// Every published document.
pub(crate) const DOCUMENTS: &[Document] = &[
    Document {
        name: "check",
        printed_by: "whyline check --format json; GET /api/check",
        schema: schema_of::<check::CheckReport>,
    },
    Document {
        name: "why",
        printed_by: "whyline why METRIC --format json; GET /api/why/{metric}",
        schema: schema_of::<why::WhyAnswer>,
    },
    Document {
        name: "edges",
        printed_by: "whyline edges --format json",
        schema: schema_of::<edges::EdgesReport>,
    },
    Document {
        name: "audit",
        printed_by: "whyline audit --format json; GET /api/audit",
        schema: schema_of::<audit::AuditReport>,
    },
    Document {
        name: "focus",
        printed_by: "whyline focus --format json",
        schema: schema_of::<audit::FocusReport>,
    },
    Document {
        name: "import",
        printed_by: "whyline import PATH... --format json",
        schema: schema_of::<import::ImportReport>,
    },
    Document {
        name: "pull",
        printed_by: "whyline pull --format json",
        schema: schema_of::<pull::PullReport>,
    },
    Document {
        name: "truth",
        printed_by: "whyline simulate (truth.json beside the data)",
        schema: schema_of::<simulate::Truth>,
    },
];

/// The OpenAPI document served at `/api/openapi.json`: the routes as written
/// in `serve/openapi.json`, and the component schemas generated from the
/// types each route answers with (`#/components/schemas/NAME`).
pub(crate) fn openapi(skeleton: &str) -> serde_json::Value {
    let mut settings = SchemaSettings::draft2020_12().for_serialize();
    settings.definitions_path = "/components/schemas".into();
    settings.meta_schema = None;
    let mut generator = settings.into_generator();
    serve::components(&mut generator);
    let definitions = generator.take_definitions(true);
    let mut doc: serde_json::Value = serde_json::from_str(skeleton).unwrap_or_default();
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(serde_json::Value::as_object_mut)
    {
        schemas.extend(definitions);
    }
    doc
}

/// `whyline schema [NAME]`: one document's schema, or the list of them.
pub(crate) fn print_schema(name: Option<&str>) -> crate::Outcome {
    let Some(name) = name else {
        for d in DOCUMENTS {
            println!("{:<8} {}", d.name, d.printed_by);
        }
        println!("{:<8} the HTTP API (GET /api/openapi.json)", "openapi");
        return crate::Outcome::Ok;
    };
    let schema = if name == "openapi" {
        Some(openapi(crate::serve::OPENAPI))
    } else {
        DOCUMENTS
            .iter()
            .find(|d| d.name == name)
            .map(|d| (d.schema)())
    };
    match schema {
        Some(schema) => match serde_json::to_string_pretty(&schema) {
            Ok(text) => {
                println!("{text}");
                crate::Outcome::Ok
            }
            Err(e) => {
                eprintln!("error: cannot encode the schema: {e}");
                crate::Outcome::Invalid
            }
        },
        None => {
            let mut names: Vec<&str> = DOCUMENTS.iter().map(|d| d.name).collect();
            names.push("openapi");
            eprintln!(
                "error: no output is called `{name}`; write one of: {}",
                names.join(", ")
            );
            crate::Outcome::Invalid
        }
    }
}

//! The why engine: given the map, aligned series and a red metric, find the
//! incident, walk the metric's drivers and rank root causes with evidence.
//!
//! Method, in order:
//! 1. **Status and windows.** The incident starts at the single most likely
//!    change in mean of the target before the asked time (Hinkley 1970); the
//!    baseline is the stretch before it. Status comes from the metric's
//!    thresholds, or without them from a robust z-score (median/MAD) of the
//!    incident against the baseline in the metric's bad direction.
//!    When asked, the engine explains a metric that is not red too, if it or
//!    the map below it moved the bad way beyond its normal noise (calibrated moves, below).
//! 2. **Regression-based hypothesis testing** on the declared map, as in
//!    CIRCA (Li et al., KDD 2022): each metric is regressed on its drivers
//!    (shifted by the declared lag) over the baseline; in the incident, a
//!    metric whose drivers predict its values has a small residual (a symptom),
//!    a metric that moved on its own has a large one (a candidate root). For
//!    incidents the residual is scored by its calibrated surprise (below), capped
//!    by the metric's own, on the sigma scale (`z = sqrt(2 s)`); metrics
//!    without mapped drivers are scored by their own move.
//!    **Calibrated moves** (incidents; two periods whose medians did not
//!    move apart are ranked as one): every metric's per-point surprise
//!    against its own reference sample (an empirical tail probability as in
//!    DoWhy's IT anomaly score, Budhathoki et al., ICML 2022, extended past
//!    the largest normal value by an exponential tail, Pickands 1975 / SPOT,
//!    Siffer et al., KDD 2017; for a share with `volume:`, its failure count's
//!    binomial surprise calibrated the same way), in the asked metric's own
//!    excursion (its run of unusual points up to now, or the whole incident
//!    since its change point when the shift is sustained: significant after
//!    paying for the change-point search, and still 2 sigma off lately),
//!    corrected for the points looked at (Šidák 1967) and for a sustained
//!    median shift (with Bartlett's effective sample size). The asked
//!    metric's own short incident is also judged on its points together (the
//!    order statistics of their p-values, David & Nagaraja 2003, calibrated
//!    on the baseline's disjoint windows of as many points), so that three
//!    points at p = 0.01 count as one move. Below the asked metric the p-values
//!    are adjusted for the metrics explored (Benjamini & Hochberg 1995), a
//!    move counts only along a path of metrics that moved (the anomalous-path
//!    rule of the traversal baselines), and a metric already as unusual
//!    before the asked one moved is a background shift, not a cause, unless
//!    it kept growing into the incident (its median there beyond its median
//!    since its own change: a ramp upstream leads its effect).
//! 3. **Signs and time.** A candidate must have moved itself, and in the
//!    direction that, through the signs of some path, pushes the target the way
//!    the target moved; a candidate that contradicts every path is demoted.
//!    CIRCA's descendant adjustment lifts a candidate by its strongest anomalous
//!    child so that the most upstream anomaly wins.
//! 4. **Attribution.** The share of each metric's move that its drivers'
//!    fitted responses predict, split among drivers and multiplied along the
//!    path: how much of the target's move a cause explains. What the target's
//!    drivers do not predict is `unexplained`; when it dominates, the target
//!    itself ranks first: the map ends there.
//!
//! Architecture invariant: pure. Series come in aligned on one grid; the
//! engine reads only the metrics upstream of the target (cost grows with the
//! explored subgraph, not the catalog).

pub mod ask;
pub mod attribution;
pub mod baselines;
mod beyond;
mod engine;
mod path;
mod status;
mod tuning;

pub use beyond::{SuspectedEdge, explain_beyond};
pub use engine::{Cause, Change, Explanation, Settings, Status, Windows, explain};
pub use status::{Judgement, judge_at, level_now, statuses};

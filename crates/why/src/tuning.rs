//! Every tuning constant of the engine, in one place, with the reason for its
//! value. The knobs a user may change live in [`crate::Settings`]; these are
//! the method's own choices. Changing one is an engine change: judge it on the
//! accuracy benchmark (`cargo bench -p whyline-why --bench accuracy`), the
//! real data first.

/// Points just before an incident that are scored but kept out of the
/// reference sample: a metric already as unusual there was not moved by the
/// incident (a background shift, such as another day's traffic level).
pub(crate) const PRE_POINTS: usize = 3;

/// How far (robust sigmas of single points) the asked metric's recent level
/// must sit from its usual one for a sustained shift since the incident's
/// change point to be the incident: a level inside the usual spread of single
/// points (about 2 sigma either way) is not a move a reader would call one,
/// however long it lasted and however significant a long window makes it.
pub(crate) const SUSTAINED_SIGMAS: f64 = 2.0;

/// When the asked metric was never unusual in the incident, the points that
/// count as "now": as many as an incident judged without a clear start has
/// (see `status::find_windows`).
pub(crate) const RECENT_POINTS: usize = 5;

/// Fewest baseline points off its usual value for a driver's response to be
/// fitted on the baseline alone: ten points fix a slope to about a third of
/// its size in noise (1/sqrt(10)); fewer, and the incident is fitted too.
pub(crate) const PINNED_POINTS: usize = 10;

/// Hinkley's change-in-mean statistic (a t-like ratio) from which a change
/// point is taken as the start of a move: about the 3-sigma of a single test.
pub(crate) const CHANGE_STATISTIC: f64 = 3.0;

/// What a candidate keeps of its score when it fails one check (moved the
/// wrong way for every path, pushes the target back through its fitted
/// response, or did not move itself): ranked below clean candidates of
/// similar strength, but still listed, because a map can be wrong.
pub(crate) const DEMOTED: f64 = 0.3;

/// A share of a metric's move from which a driver clearly accounts for it:
/// its fitted response then carries a candidate whose declared sign is wrong,
/// and lets the metric's score pass down to that driver.
pub(crate) const CLEAR_SHARE: f64 = 0.3;

/// A share of its dependant's move from which a driver takes over the
/// dependant's score although its own score (after the background before the
/// incident is taken out) is small: most of the move is its doing by the fit.
/// Above a half, so that one driver at most can hold it.
pub(crate) const DOMINANT_SHARE: f64 = 0.6;

/// How far below `z_moved` such a dominant driver's own move may stay: a
/// ramp that began early shows 2 sigma or so in the focus, while noise that a
/// fit credits with the bulk of a move is rarely even that far off.
pub(crate) const DOMINANT_MOVE_MARGIN: f64 = 1.0;

/// A fitted contribution below minus this share pushes the target back.
pub(crate) const PUSHES_BACK: f64 = 0.05;

/// A metric already this much of its incident surprise unusual before the
/// asked metric moved (coincident under twice the background) is a background
/// shift: only the excess counts.
pub(crate) const BACKGROUND_RATIO: f64 = 2.0;

/// Points a driver's change may follow its dependant's (plus the declared
/// lag) and still have caused it: change points are located to a few points.
pub(crate) const START_SLACK: usize = 2;

/// Points a suspected driver's change may follow the metric's in an incident
/// of `incident_points`: [`START_SLACK`], or an eighth of a long incident,
/// whichever is more. A slow change (a ramp) is located only to a fraction of
/// its length, and the noisier of two ramps is located later, whichever came
/// first (an imperfect map's unmapped ramp two points "late" lost its lead).
pub(crate) fn start_slack(incident_points: usize) -> usize {
    (incident_points / 8).max(START_SLACK)
}

/// How much further (robust sigmas of single points) than a moved metric an
/// unmapped suspect must move: the search looks at every lower-layer metric,
/// so a suspect must stand out of that crowd, not just of its own noise.
pub(crate) const SUSPECT_MARGIN: f64 = 2.0;

/// Smallest normal-time correlation of first differences for an unmapped
/// suspect to be associated with a metric: about 0.3 in 240 baseline points
/// is far beyond chance (standard error 1/sqrt(240) = 0.065), yet weak
/// couplings through a chain of two or three edges still reach it.
pub(crate) const SUSPECT_CORRELATION: f64 = 0.3;

/// Longest lag (points) at which an unmapped suspect's association is sought.
pub(crate) const SUSPECT_MAX_LAG: usize = 3;

/// The largest move (sigma) that counts toward a suspect's score: beyond it,
/// a bigger move says nothing more about being the cause.
pub(crate) const SUSPECT_MOVE_CAP: f64 = 20.0;

/// What a driver that clearly moved adds to the score it takes over from its
/// dependant, per unit of its own move (capped at [`UPSTREAM_CAP`]): the most
/// upstream anomaly wins ties, the bigger mover among several drivers.
pub(crate) const UPSTREAM_BONUS: f64 = 0.1;

/// The largest own move (sigma scale) that counts toward [`UPSTREAM_BONUS`].
pub(crate) const UPSTREAM_CAP: f64 = 50.0;

/// Catalogs larger than this look for unmapped drivers only among the
/// services the explored map touches: reading every lower-layer metric of a
/// huge catalog for one question costs more than the lead is worth.
pub(crate) const WIDE_SEARCH_METRICS: usize = 5_000;

/// Suggested edges followed at most, one after another, below the stop.
pub(crate) const MAX_SUGGESTED_HOPS: usize = 3;

/// A share of a metric's move its mapped drivers must explain for the walk
/// to have reached a root there rather than stopped short of one.
pub(crate) const EXPLAINED_ENOUGH: f64 = 0.5;

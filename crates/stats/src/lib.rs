//! Pure statistics on `&[f64]`: robust location and scale, ordinary least
//! squares, and single change-point detection. `NaN` marks a missing value
//! and is skipped by every function here.
//!
//! Architecture invariant: pure; no I/O; no knowledge of metrics or catalogs.

pub mod changepoint;
pub mod correlation;
pub mod counts;
pub mod regression;
pub mod robust;
pub mod seasonal;
pub mod tail;

pub use changepoint::{MeanShift, mean_shift, mean_shift_after};
pub use correlation::{
    benjamini_hochberg, delayed, first_differences, fisher_p, lag_steps, pearson, residuals_on,
};
pub use counts::{EventRate, binomial_log_sf};
pub use regression::{Fit, ols};
pub use robust::{RobustBaseline, iqr, mad, mean_std, median, median_variance, quantile};
pub use seasonal::deseasonalize;
pub use tail::{Tail, bh_adjusted_surprise, order_surprise, window_surprise};

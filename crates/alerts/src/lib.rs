//! The alerting loop, as pure functions: the catalog's thresholds written as
//! Prometheus rules ([`rules`]), Alertmanager's webhook read and checked
//! ([`webhook`]), and the why of an alert group turned into the messages
//! Slack, PagerDuty and a generic webhook take ([`message`]).
//!
//! Architecture invariant: no I/O. Storing, retrying and sending live in the
//! server that wires these (`whyline serve`), so each step here is tested on
//! plain values.

pub mod message;
pub mod rules;
pub mod webhook;

//! The code forges hoist talks to for pull requests: GitHub over its REST API
//! ([`github`]) and the simulated forge of `hoist try` ([`simulated`]). Both
//! implement the engine's [`crate::engine::ports::Forge`] port.

pub mod github;
pub mod simulated;

//! Environments made from chat after their commit: a creation followed to
//! "ready" against the fake Kubernetes API, and expiry carried out by the
//! leader's chores on a clock the test moves. Included from the rollout
//! tests, whose binary has the fake API server and the in-process harness.

#[path = "expiry.rs"]
mod expiry;
// The exec tests use the rest of it.
#[allow(dead_code)]
#[path = "fixture.rs"]
mod fixture;
#[path = "ready.rs"]
mod ready;

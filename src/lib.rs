//! hoist: chat commands become signed commits on a GitOps config repo.
//!
//! # Layout
//!
//! - `engine`: the operation state machine and orchestration; talks only to
//!   the traits in `engine::ports`.
//! - `policy`: the repo's `hoist.yaml`: who may do what where. Pure.
//! - `gitops`: the only module that touches git (mirror, edits, signing, history).
//! - `store`: the journal (embedded redb; or the Kubernetes API for replicas).
//! - `ha`: more than one replica: the Kubernetes connection, Lease leadership.
//! - `cluster`: following the reconcile (Argo CD / Flux; simulated for `hoist try`).
//! - `forge`: pull requests on the config repo's host (GitHub; simulated for `hoist try`).
//! - `chat`: the console surface (`try`, `exec`) and Slack (`chat::slack`).
//! - `server`: the HTTP endpoints of `hoist serve` (axum); `metrics`: their counters.
//! - `yaml`: a span-preserving view of YAML used by `policy` and `gitops`.
//! - `cli`: the `hoist` subcommands.

pub mod chat;
pub mod cli;
pub mod cluster;
pub mod engine;
pub mod envs;
pub mod forge;
pub mod gitops;
pub mod ha;
pub mod logging;
pub mod metrics;
pub mod policy;
pub mod server;
pub mod store;
pub mod yaml;

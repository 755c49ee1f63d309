//! Chat surfaces: each turns platform traffic into engine [`Request`]s and
//! renders operation updates back: the console (`hoist try`, `hoist exec`)
//! and Slack (`hoist serve`).
//!
//! [`Request`]: crate::engine::Request

pub mod console;
pub mod slack;

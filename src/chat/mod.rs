//! Chat surfaces: each turns platform traffic into engine [`Request`]s and
//! renders operation updates back. Today: the console (`hoist try`, `hoist
//! exec`); Slack and Discord adapters live beside it.
//!
//! [`Request`]: crate::engine::Request

pub mod console;

//! The GitHub implementation of the [`crate::engine::ports::Forge`] port
//! (being written).

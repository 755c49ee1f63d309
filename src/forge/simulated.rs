//! The simulated forge of `hoist try` (being written).

//! Per-shard state owned by one shard thread: timers and the cached Date header.
pub mod date;
pub mod timer;

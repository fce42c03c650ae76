//! ringhttp: a shard-per-core io_uring HTTP/1.1 server engine with Node.js `http` semantics.
pub mod proto;
pub mod shard;

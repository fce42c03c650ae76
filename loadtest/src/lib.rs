//! ringload: a wrk-compatible HTTP/1.1 load generator on io_uring, the server
//! comparison harness, and the HTTP/1.1 client side (`client`).

// Unsafe code lives in ring/ only (the io_uring driver and its raw syscalls).
#![deny(unsafe_code)]

pub mod cli;
pub mod client;
pub mod compare;
pub mod load;
pub mod report;
#[allow(unsafe_code)]
pub mod ring;
pub mod stats;

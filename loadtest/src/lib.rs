//! ringload: a wrk-compatible HTTP/1.1 load generator on io_uring, the server
//! comparison harness, and the HTTP/1.1 client side (`client`).

pub mod cli;
pub mod client;
pub mod compare;
pub mod load;
pub mod report;
pub mod ring;
pub mod stats;

//! The system layer: the io_uring driver and the few libc calls ringload
//! needs. All `unsafe` code of the crate lives under this module.

mod bufring;
mod driver;
pub mod sys;

pub use driver::{Cqe, Driver, DriverConfig};

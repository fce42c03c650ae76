//! Protocol layer: pure functions over bytes. No syscalls, no buffers owned by the kernel.
#![forbid(unsafe_code)]
pub mod h1;

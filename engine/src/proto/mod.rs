//! Protocol layer: pure functions over bytes. No syscalls, no buffers owned by the kernel.
pub mod h1;

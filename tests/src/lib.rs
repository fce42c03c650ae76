//! Shared helpers for the socket-level integration tests.

//! Response encoding: status line, headers, chunked framing.

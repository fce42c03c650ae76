//! Table-driven and property tests for the HTTP/1.1 parser.

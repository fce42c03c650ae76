//! The protocol state of one load connection: in-flight request start times
//! and the response parser. Independent of how bytes are moved.

use crate::client::{ParseError, ResponseParser};
use crate::stats::Stats;
use std::collections::VecDeque;

/// What the connection should do after a read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// Keep going.
    Continue,
    /// The server announced it closes the connection: reconnect.
    Reconnect,
}

/// One connection's view of its requests and responses.
#[derive(Debug)]
pub struct Session {
    parser: ResponseParser,
    starts: VecDeque<u64>,
    /// Time (ns) of the last send or receive, for `--timeout`.
    pub last_activity: u64,
}

impl Session {
    /// A session for requests whose responses carry a body unless `head_method`.
    pub fn new(depth: usize, head_method: bool) -> Session {
        let mut parser = ResponseParser::new();
        parser.set_head_request(head_method);
        Session {
            parser,
            starts: VecDeque::with_capacity(depth),
            last_activity: 0,
        }
    }

    /// Requests sent (or about to be) and not yet answered.
    #[inline]
    pub fn inflight(&self) -> usize {
        self.starts.len()
    }

    /// Registers one request whose latency is measured from `start` (ns).
    #[inline]
    pub fn push(&mut self, start: u64) {
        self.starts.push_back(start);
    }

    /// Parses received bytes, recording each completed response.
    pub fn on_data(
        &mut self,
        mut data: &[u8],
        now: u64,
        stats: &mut Stats,
    ) -> Result<After, ParseError> {
        stats.bytes += data.len() as u64;
        self.last_activity = now;
        while !data.is_empty() {
            let p = self.parser.feed(data, &mut ())?;
            data = &data[p.consumed..];
            if let Some(done) = p.done {
                // A response nobody asked for means the stream is out of step.
                let start = self.starts.pop_front().ok_or(ParseError::StatusLine)?;
                stats.response(now.saturating_sub(start), done.status);
                if done.close {
                    return Ok(After::Reconnect);
                }
            }
        }
        Ok(After::Continue)
    }

    /// The peer closed: completes a close-delimited response if one was in progress.
    pub fn on_eof(&mut self, now: u64, stats: &mut Stats) -> Result<(), ParseError> {
        if let Some(done) = self.parser.eof()? {
            if let Some(start) = self.starts.pop_front() {
                stats.response(now.saturating_sub(start), done.status);
            }
        }
        Ok(())
    }

    /// Forgets in-flight requests and partial input (the connection is replaced);
    /// returns how many requests were lost.
    pub fn reset(&mut self) -> usize {
        let lost = self.starts.len();
        self.starts.clear();
        self.parser.reset();
        lost
    }
}

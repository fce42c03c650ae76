//! One connection's state on its shard.
use std::collections::VecDeque;
use std::os::fd::RawFd;
use std::rc::Rc;

use super::body::BodyChan;
use super::ctx::ConnShared;
use super::slot::ResSlot;
use super::timeouts::Inactivity;
use super::timer::TimerId;
use crate::proto::h1::BodyDecoder;

/// What the parser expects next.
pub(crate) enum Phase {
    /// A request head (or nothing, between requests).
    Head,
    /// The body of the request whose response is last in `queue`.
    Body {
        /// Boxed: most connections are not inside a body, and an idle one should be small.
        dec: Box<BodyDecoder>,
        chan: Rc<BodyChan>,
    },
    /// Nothing more will be parsed (after an error or a closing response).
    Done,
    /// Upgraded or CONNECT: bytes go to the listener's raw socket unparsed.
    Raw { chan: Rc<BodyChan> },
}

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Life {
    Open,
    /// The last response must go out, then we close our side.
    Draining,
    /// We sent FIN after the last response; reading and discarding until the peer's FIN
    /// (so unread request bytes cannot turn our close into a reset that eats the response).
    Lingering,
    /// Waiting for in-flight operations to finish before the fd is closed.
    Closing,
}

/// Which deadline the connection's phase timer stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Deadline {
    /// headersTimeout: the head must be complete by then.
    Headers,
    /// requestTimeout: the whole request must have arrived by then.
    Request,
    /// keepAliveTimeout: a new request must start by then.
    KeepAlive,
    /// Lingering close bound.
    Linger,
}

pub(crate) struct Conn {
    pub fd: RawFd,
    pub gen: u32,
    pub shared: Rc<ConnShared>,
    /// Received bytes not consumed by the parser yet (a partial head, or requests held
    /// back by the pipelining bound). Empty for idle connections.
    pub rbuf: Vec<u8>,
    pub phase: Phase,
    pub life: Life,
    /// Responses in request order; the front one is being written.
    pub queue: VecDeque<Rc<ResSlot>>,
    /// Bytes ready to send, in order.
    pub out: Vec<u8>,
    /// Bytes owned by the in-flight send (never touched until its completion).
    pub inflight: Vec<u8>,
    pub inflight_off: usize,
    pub sending: bool,
    pub recv_armed: bool,
    pub stop_requested: bool,
    pub peer_eof: bool,
    /// Requests counted against maxRequestsPerSocket (HTTP/1.1 ones, as Node).
    pub requests: usize,
    /// When the current request's first byte arrived (for requestTimeout).
    pub request_started: Option<std::time::Instant>,
    pub timer: Option<(TimerId, Deadline)>,
    pub idle_timer: Option<TimerId>,
    /// server.timeout as it was at accept, and a per-message override.
    pub inactivity: Inactivity,
    /// A raw socket took the connection over while a request body was arriving: its
    /// channel once the body is complete (`takeover.rs`).
    pub raw_next: Option<Rc<BodyChan>>,
}

impl Conn {
    pub fn new(fd: RawFd, gen: u32, shared: Rc<ConnShared>) -> Conn {
        Conn {
            fd,
            gen,
            shared,
            rbuf: Vec::new(),
            phase: Phase::Head,
            life: Life::Open,
            queue: VecDeque::new(),
            out: Vec::new(),
            inflight: Vec::new(),
            inflight_off: 0,
            sending: false,
            recv_armed: false,
            stop_requested: false,
            peer_eof: false,
            requests: 0,
            request_started: None,
            timer: None,
            idle_timer: None,
            inactivity: Inactivity::default(),
            raw_next: None,
        }
    }

    /// Bytes accepted for sending but not yet written.
    pub fn unsent(&self) -> usize {
        self.out.len() + self.inflight.len() - self.inflight_off
    }

    /// Nothing in flight, nothing queued, nothing being parsed.
    pub fn is_idle(&self) -> bool {
        self.queue.is_empty()
            && self.unsent() == 0
            && matches!(self.phase, Phase::Head)
            && self.rbuf.is_empty()
    }
}

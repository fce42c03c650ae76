//! Response framing (RFC 9112 sections 6 and 9): how a response body is delimited and
//! whether the connection persists, decided once when the head is finished, from the
//! request, the status and the handler's own headers. The decision is the body encoder's
//! state: bytes still allowed, chunked, close-delimited, or no body at all.
use super::encode;

/// Headers the engine writes itself unless the handler set them, as bits.
pub mod special {
    pub const CONTENT_LENGTH: u8 = 1;
    pub const TRANSFER_ENCODING: u8 = 2;
    pub const DATE: u8 = 4;
    pub const CONNECTION: u8 = 8;
    pub const KEEP_ALIVE: u8 = 16;

    /// Which special header `name` is (0 for none). Length first: most names are not.
    #[inline]
    pub fn of(name: &str) -> u8 {
        let is = |s: &str| name.eq_ignore_ascii_case(s);
        match name.len() {
            4 if is("date") => DATE,
            10 if is("connection") => CONNECTION,
            10 if is("keep-alive") => KEEP_ALIVE,
            14 if is("content-length") => CONTENT_LENGTH,
            17 if is("transfer-encoding") => TRANSFER_ENCODING,
            _ => 0,
        }
    }
}

/// Automatic headers the handler removed (`removeHeader`): the engine must not add them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Suppressed {
    pub date: bool,
    pub connection: bool,
    pub keep_alive: bool,
    pub content_length: bool,
    pub transfer_encoding: bool,
}

impl Suppressed {
    /// Records that the header named by `bit` (a [`special`] bit) was removed.
    pub fn remove(&mut self, bit: u8) {
        match bit {
            special::DATE => self.date = true,
            special::CONNECTION => self.connection = true,
            special::KEEP_ALIVE => self.keep_alive = true,
            special::CONTENT_LENGTH => self.content_length = true,
            special::TRANSFER_ENCODING => self.transfer_encoding = true,
            _ => {}
        }
    }
}

/// What the handler's own headers say about framing and persistence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HeadFacts {
    /// [`special`] bits of the headers present.
    pub present: u8,
    /// Content-Length given: Some(Some(n)), or Some(None) when it is not a number.
    pub content_length: Option<Option<u64>>,
    /// Transfer-Encoding given: whether its final coding is chunked.
    pub te_chunked: Option<bool>,
    /// `Connection: close` given.
    pub conn_close: bool,
}

impl HeadFacts {
    /// Records one header line (a list value joined with ", ") if the engine cares.
    pub fn note(&mut self, name: &str, value: &str) {
        let bit = special::of(name);
        self.present |= bit;
        match bit {
            special::CONTENT_LENGTH => self.content_length = Some(value.trim().parse().ok()),
            special::TRANSFER_ENCODING => {
                let v = value.trim_end().as_bytes();
                self.te_chunked =
                    Some(v.len() >= 7 && v[v.len() - 7..].eq_ignore_ascii_case(b"chunked"));
            }
            special::CONNECTION => {
                self.conn_close |= value
                    .as_bytes()
                    .windows(5)
                    .any(|w| w.eq_ignore_ascii_case(b"close"));
            }
            _ => {}
        }
    }

    /// Adds the facts of lines that follow (`later`), as if noted one after the other.
    pub fn merge(&mut self, later: &HeadFacts) {
        self.present |= later.present;
        if later.content_length.is_some() {
            self.content_length = later.content_length;
        }
        if later.te_chunked.is_some() {
            self.te_chunked = later.te_chunked;
        }
        self.conn_close |= later.conn_close;
    }
}

/// How a response body is delimited on the wire: the body encoder's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutFraming {
    /// Not decided yet (head not finished).
    Undecided,
    /// Content-Length: bytes still allowed.
    Length(u64),
    Chunked,
    /// Body ends when the connection closes (HTTP/1.0 without a length).
    Close,
    /// HEAD, 1xx, 204, 304: no body bytes ever.
    NoBody,
}

impl OutFraming {
    /// Encodes body bytes: cut to the declared length, chunked, as-is, or dropped.
    #[inline]
    pub fn write(&mut self, out: &mut Vec<u8>, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        match self {
            OutFraming::Length(left) => {
                let n = (*left).min(data.len() as u64) as usize;
                *left -= n as u64;
                out.extend_from_slice(&data[..n]);
            }
            OutFraming::Chunked => encode::chunk(out, data),
            OutFraming::Close => out.extend_from_slice(data),
            OutFraming::NoBody | OutFraming::Undecided => {}
        }
    }

    /// Ends the body: the last chunk and its trailers when chunked, nothing otherwise.
    pub fn finish<'a>(
        &self,
        out: &mut Vec<u8>,
        trailers: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
    ) {
        if *self == OutFraming::Chunked {
            encode::last_chunk(out, trailers);
        }
    }
}

/// Header lines the shard prepares once (formatted per second or per server).
#[derive(Debug, Clone, Copy, Default)]
pub struct EngineLines<'a> {
    /// `Date: ...\r\n`.
    pub date: &'a [u8],
    /// `Connection: keep-alive\r\n` followed by `keep_alive_header`.
    pub keep_alive_lines: &'a [u8],
    /// `Keep-Alive: timeout=N\r\n` (empty when keepAliveTimeout is zero).
    pub keep_alive_header: &'a [u8],
}

/// Everything the end of a head depends on.
#[derive(Debug, Clone, Copy)]
pub struct HeadEnd {
    pub status: u16,
    /// The request's minor version (0: HTTP/1.0, no chunked).
    pub req_minor: u8,
    /// The request was HEAD: no body bytes.
    pub is_head: bool,
    /// The request and the server allow the connection to persist.
    pub keep_alive: bool,
    /// The connection's request limit is reached (Node's `maxRequestsOnConnectionReached`):
    /// a persisting connection is announced as `Connection: close` yet persists (Node
    /// answers further requests on it with 503).
    pub limit_reached: bool,
    /// `res.sendDate`.
    pub send_date: bool,
    pub facts: HeadFacts,
    pub suppressed: Suppressed,
    /// The whole body is known (end() before any write): Content-Length can be sent.
    pub end_len: Option<usize>,
}

/// The outcome of [`HeadEnd::write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Framed {
    pub framing: OutFraming,
    /// The connection persists after this response.
    pub keep_alive: bool,
}

impl HeadEnd {
    /// Decides framing and persistence and writes the engine's own lines after the
    /// handler's headers: Date, Connection/Keep-Alive, Content-Length or
    /// Transfer-Encoding, and the empty line ending the head.
    pub fn write(&self, out: &mut Vec<u8>, lines: &EngineLines<'_>) -> Framed {
        let status = self.status;
        let no_body =
            self.is_head || status == 204 || status == 304 || (100..200).contains(&status);
        let (facts, sup) = (self.facts, self.suppressed);
        let mut add_cl = None;
        let mut add_te = false;
        let framing = if let Some(cl) = facts.content_length {
            match cl {
                Some(n) if !no_body => OutFraming::Length(n),
                Some(_) => OutFraming::NoBody,
                None => OutFraming::Close,
            }
        } else if let Some(chunked) = facts.te_chunked {
            if no_body {
                OutFraming::NoBody
            } else if chunked {
                OutFraming::Chunked
            } else {
                OutFraming::Close
            }
        } else if no_body {
            OutFraming::NoBody
        } else if let Some(n) = self.end_len.filter(|_| !sup.content_length) {
            add_cl = Some(n as u64);
            OutFraming::Length(n as u64)
        } else if self.req_minor >= 1 && !sup.transfer_encoding {
            add_te = true;
            OutFraming::Chunked
        } else {
            OutFraming::Close
        };
        let keep_alive = self.keep_alive && framing != OutFraming::Close && !facts.conn_close;

        let present = facts.present;
        if self.send_date && !sup.date && present & special::DATE == 0 {
            out.extend_from_slice(lines.date);
        }
        let connection = !sup.connection && present & special::CONNECTION == 0;
        let advertise = keep_alive
            && !self.limit_reached
            && !sup.keep_alive
            && present & special::KEEP_ALIVE == 0;
        match (connection, keep_alive && !self.limit_reached) {
            // The common case in one copy: `Connection: keep-alive` + `Keep-Alive: timeout=N`.
            (true, true) if advertise => out.extend_from_slice(lines.keep_alive_lines),
            (true, true) => out.extend_from_slice(b"Connection: keep-alive\r\n"),
            (true, false) => out.extend_from_slice(b"Connection: close\r\n"),
            (false, _) if advertise => out.extend_from_slice(lines.keep_alive_header),
            (false, _) => {}
        }
        if let Some(n) = add_cl {
            out.extend_from_slice(b"Content-Length: ");
            encode::push_u64(out, n);
            out.extend_from_slice(b"\r\n");
        }
        if add_te {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        out.extend_from_slice(b"\r\n");
        Framed {
            framing,
            keep_alive,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: EngineLines<'static> = EngineLines {
        date: b"Date: D\r\n",
        keep_alive_lines: b"Connection: keep-alive\r\nKeep-Alive: timeout=5\r\n",
        keep_alive_header: b"Keep-Alive: timeout=5\r\n",
    };

    fn head(status: u16) -> HeadEnd {
        HeadEnd {
            status,
            req_minor: 1,
            is_head: false,
            keep_alive: true,
            limit_reached: false,
            send_date: true,
            facts: HeadFacts::default(),
            suppressed: Suppressed::default(),
            end_len: None,
        }
    }

    fn facts(lines: &[(&str, &str)]) -> HeadFacts {
        let mut f = HeadFacts::default();
        for (n, v) in lines {
            f.note(n, v);
        }
        f
    }

    fn end(h: HeadEnd) -> (String, Framed) {
        let mut out = Vec::new();
        let f = h.write(&mut out, &LINES);
        (String::from_utf8(out).unwrap(), f)
    }

    #[test]
    fn end_with_known_body_gets_content_length() {
        let (s, f) = end(HeadEnd {
            end_len: Some(13),
            ..head(200)
        });
        assert_eq!(
            s,
            "Date: D\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nContent-Length: 13\r\n\r\n"
        );
        assert_eq!(
            f,
            Framed {
                framing: OutFraming::Length(13),
                keep_alive: true
            }
        );
    }

    #[test]
    fn streamed_body_is_chunked_on_1_1_and_close_delimited_on_1_0() {
        let (s, f) = end(head(200));
        assert!(s.ends_with("Transfer-Encoding: chunked\r\n\r\n"), "{s}");
        assert_eq!(f.framing, OutFraming::Chunked);
        let (s, f) = end(HeadEnd {
            req_minor: 0,
            ..head(200)
        });
        assert_eq!(s, "Date: D\r\nConnection: close\r\n\r\n");
        assert_eq!(
            f,
            Framed {
                framing: OutFraming::Close,
                keep_alive: false
            }
        );
    }

    #[test]
    fn bodiless_statuses_and_head_never_carry_a_body() {
        for (status, is_head) in [(204, false), (304, false), (101, false), (200, true)] {
            let (s, f) = end(HeadEnd {
                is_head,
                end_len: Some(5),
                ..head(status)
            });
            assert_eq!(f.framing, OutFraming::NoBody, "{status} {is_head}");
            assert!(
                !s.contains("Content-Length") && !s.contains("Transfer-Encoding"),
                "{s}"
            );
        }
        // A handler's Content-Length on HEAD is kept, but no body follows.
        let (s, f) = end(HeadEnd {
            is_head: true,
            facts: facts(&[("Content-Length", "42")]),
            ..head(200)
        });
        assert_eq!(f.framing, OutFraming::NoBody);
        assert!(
            !s.contains("Content-Length"),
            "the handler's line is its own: {s}"
        );
    }

    #[test]
    fn handler_headers_win_and_decide() {
        let (s, f) = end(HeadEnd {
            facts: facts(&[("content-length", " 7 ")]),
            end_len: Some(3),
            ..head(200)
        });
        assert_eq!(f.framing, OutFraming::Length(7));
        assert!(!s.contains("Content-Length"), "{s}");
        // Unparseable Content-Length: close-delimited, and the connection closes.
        let (_, f) = end(HeadEnd {
            facts: facts(&[("Content-Length", "x")]),
            ..head(200)
        });
        assert_eq!(
            f,
            Framed {
                framing: OutFraming::Close,
                keep_alive: false
            }
        );
        // Transfer-Encoding whose final coding is not chunked: close-delimited.
        let (_, f) = end(HeadEnd {
            facts: facts(&[("Transfer-Encoding", "gzip")]),
            ..head(200)
        });
        assert_eq!(f.framing, OutFraming::Close);
        let (_, f) = end(HeadEnd {
            facts: facts(&[("Transfer-Encoding", "gzip, Chunked")]),
            ..head(200)
        });
        assert_eq!(f.framing, OutFraming::Chunked);
        // Connection: close from the handler: no keep-alive, no line added.
        let (s, f) = end(HeadEnd {
            facts: facts(&[("Connection", "Close")]),
            end_len: Some(0),
            ..head(200)
        });
        assert!(!f.keep_alive);
        assert_eq!(s, "Date: D\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn request_limit_announces_close_but_persists() {
        // Node's maxRequestsOnConnectionReached: `Connection: close`, no Keep-Alive, and
        // the connection stays (further requests are answered 503).
        let (s, f) = end(HeadEnd {
            limit_reached: true,
            end_len: Some(2),
            ..head(200)
        });
        assert_eq!(
            s,
            "Date: D\r\nConnection: close\r\nContent-Length: 2\r\n\r\n"
        );
        assert!(f.keep_alive);
        // A response that cannot persist anyway still closes.
        let (_, f) = end(HeadEnd {
            limit_reached: true,
            req_minor: 0,
            ..head(200)
        });
        assert!(!f.keep_alive);
    }

    #[test]
    fn removed_headers_are_not_added() {
        let (s, f) = end(HeadEnd {
            suppressed: Suppressed {
                date: true,
                keep_alive: true,
                content_length: true,
                ..Suppressed::default()
            },
            end_len: Some(2),
            ..head(200)
        });
        assert_eq!(
            s,
            "Connection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        );
        assert_eq!(f.framing, OutFraming::Chunked);
        let (s, f) = end(HeadEnd {
            suppressed: Suppressed {
                connection: true,
                transfer_encoding: true,
                ..Suppressed::default()
            },
            send_date: false,
            ..head(200)
        });
        assert_eq!(s, "\r\n");
        assert_eq!(
            f,
            Framed {
                framing: OutFraming::Close,
                keep_alive: false
            }
        );
        // Connection removed, persistence kept: only Keep-Alive is advertised.
        let (s, _) = end(HeadEnd {
            suppressed: Suppressed {
                connection: true,
                ..Suppressed::default()
            },
            send_date: false,
            end_len: Some(0),
            ..head(200)
        });
        assert_eq!(s, "Keep-Alive: timeout=5\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn body_encoder_states() {
        let mut out = Vec::new();
        let mut f = OutFraming::Length(5);
        f.write(&mut out, b"abc");
        f.write(&mut out, b"defg");
        assert_eq!(out, b"abcde", "cut at the declared length");
        assert_eq!(f, OutFraming::Length(0));
        out.clear();
        let mut f = OutFraming::Chunked;
        f.write(&mut out, b"hello");
        f.write(&mut out, b"");
        f.finish(&mut out, [(&b"X-T"[..], &b"1"[..])]);
        assert_eq!(out, b"5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n");
        out.clear();
        let mut f = OutFraming::NoBody;
        f.write(&mut out, b"dropped");
        f.finish(&mut out, []);
        assert!(out.is_empty());
    }
}

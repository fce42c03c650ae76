//! Response parser: every framing, fed whole and split at every byte.

use ringload::client::{parse_head, Done, Head, ParseError, ResponseParser, Sink};

#[derive(Default)]
struct Rec {
    statuses: Vec<u16>,
    body: Vec<u8>,
}

impl Sink for Rec {
    fn head(&mut self, h: &Head<'_>) {
        self.statuses.push(h.status);
    }
    fn body(&mut self, d: &[u8]) {
        self.body.extend_from_slice(d);
    }
}

/// Feeds `pieces` in order and returns the completed responses and the sink.
fn run(p: &mut ResponseParser, pieces: &[&[u8]]) -> Result<(Vec<Done>, Rec), ParseError> {
    let mut rec = Rec::default();
    let mut done = Vec::new();
    for piece in pieces {
        let mut data = *piece;
        while !data.is_empty() {
            let pr = p.feed(data, &mut rec)?;
            assert!(pr.consumed > 0 || pr.done.is_some(), "no progress");
            data = &data[pr.consumed..];
            done.extend(pr.done);
        }
    }
    Ok((done, rec))
}

/// Parses `wire` whole, then split in two at every byte, then byte by byte;
/// all must agree.
fn all_splits(wire: &[u8]) -> (Vec<Done>, Vec<u8>) {
    let whole = run(&mut ResponseParser::new(), &[wire]).expect("whole");
    for i in 0..=wire.len() {
        let (a, b) = wire.split_at(i);
        let split = run(&mut ResponseParser::new(), &[a, b]).expect("split");
        assert_eq!(split.0, whole.0, "split at {i}");
        assert_eq!(split.1.body, whole.1.body, "split at {i}");
    }
    let bytes: Vec<&[u8]> = wire.chunks(1).collect();
    let single = run(&mut ResponseParser::new(), &bytes).expect("bytewise");
    assert_eq!(single.0, whole.0);
    assert_eq!(single.1.body, whole.1.body);
    (whole.0, whole.1.body)
}

const PLAIN: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

#[test]
fn content_length_split_everywhere() {
    let (done, body) = all_splits(PLAIN);
    assert_eq!(
        done,
        vec![Done {
            status: 200,
            close: false
        }]
    );
    assert_eq!(body, b"Hello, World!");
}

#[test]
fn pipelined_responses_split_everywhere() {
    let wire = [
        PLAIN,
        b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
        PLAIN,
    ]
    .concat();
    let (done, body) = all_splits(&wire);
    let statuses: Vec<u16> = done.iter().map(|d| d.status).collect();
    assert_eq!(statuses, vec![200, 404, 200]);
    assert_eq!(body, b"Hello, World!Hello, World!");
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=val\r\nHello\r\n8\r\n, World!\r\n0\r\nX-Trailer: yes\r\nY: z\r\n\r\n";
    let wire = [&wire[..], PLAIN].concat();
    let (done, body) = all_splits(&wire);
    assert_eq!(done.len(), 2);
    assert_eq!(body, b"Hello, World!Hello, World!");
}

#[test]
fn informational_before_final() {
    let wire = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n\
        HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok";
    let (done, body) = all_splits(wire);
    assert_eq!(
        done,
        vec![Done {
            status: 201,
            close: false
        }]
    );
    assert_eq!(body, b"ok");
    let (_, rec) = run(&mut ResponseParser::new(), &[wire]).unwrap();
    assert_eq!(rec.statuses, vec![100, 103, 201]);
}

#[test]
fn close_delimited_completes_at_eof() {
    let wire = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end";
    for i in 0..=wire.len() {
        let mut p = ResponseParser::new();
        let (done, rec) = run(&mut p, &[&wire[..i], &wire[i..]]).unwrap();
        assert!(done.is_empty());
        assert_eq!(rec.body, b"until the end");
        assert_eq!(
            p.eof(),
            Ok(Some(Done {
                status: 200,
                close: true
            }))
        );
    }
}

#[test]
fn eof_mid_response_is_an_error_and_idle_eof_is_not() {
    let mut p = ResponseParser::new();
    run(&mut p, &[&PLAIN[..30]]).unwrap();
    assert_eq!(p.eof(), Err(ParseError::UnexpectedEof));
    let mut p = ResponseParser::new();
    run(&mut p, &[PLAIN]).unwrap();
    assert_eq!(p.eof(), Ok(None));
}

#[test]
fn connection_close_http10_and_head_requests() {
    let h = parse_head(b"HTTP/1.1 200 OK\r\nConnection: keep-alive, close\r\n\r\n").unwrap();
    assert!(h.close);
    let h = parse_head(b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\n").unwrap();
    assert!(h.close);
    let h = parse_head(b"HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\n\r\n").unwrap();
    assert!(!h.close);
    let mut p = ResponseParser::new();
    p.set_head_request(true);
    let (done, rec) = run(&mut p, &[b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"]).unwrap();
    assert_eq!(done.len(), 1);
    assert!(rec.body.is_empty());
}

#[test]
fn bodiless_statuses_and_header_iteration() {
    let wire =
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nHTTP/1.1 304 Not Modified\r\n\r\n";
    let (done, body) = all_splits(wire);
    assert_eq!(done.len(), 2);
    assert!(body.is_empty());
    let h = parse_head(b"HTTP/1.1 200 OK\r\nA:  b \r\nC-D: e\r\n\r\n").unwrap();
    let hs: Vec<_> = h.headers().collect();
    assert_eq!(hs, vec![(&b"A"[..], &b"b"[..]), (&b"C-D"[..], &b"e"[..])]);
}

#[test]
fn malformed_input_is_rejected() {
    let bad: [(&[u8], ParseError); 5] = [
        (b"HTTP/2.0 200 OK\r\n\r\n", ParseError::StatusLine),
        (b"HTTP/1.1 2x0 OK\r\n\r\n", ParseError::StatusLine),
        (b"HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", ParseError::Header),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
            ParseError::ContentLength,
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            ParseError::ChunkSize,
        ),
    ];
    for (wire, want) in bad {
        let got = run(&mut ResponseParser::new(), &[wire])
            .map(|_| ())
            .unwrap_err();
        assert_eq!(got, want, "{}", String::from_utf8_lossy(wire));
    }
    let chunk_no_crlf = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXX";
    assert_eq!(
        run(&mut ResponseParser::new(), &[chunk_no_crlf])
            .map(|_| ())
            .unwrap_err(),
        ParseError::ChunkTerminator
    );
}

//! Fuzz entry points shared by the cargo-fuzz targets and the stable bounded runner.
//!
//! Each function panics on a violated invariant and must never panic otherwise.
use std::time::Instant;

use ringhttp::proto::h1::{
    parse_request_head, parse_request_head_reference, BodyDecoder, Framing, Limits, ParseError,
    RequestHead, Trailer,
};

fn head_limits(len: usize) -> Limits {
    if len.is_multiple_of(3) {
        // Tiny limits so the bounds are reached often.
        Limits {
            max_header_size: 96,
            max_uri_len: 16,
            max_chunk_ext_size: 8,
            max_trailer_size: 32,
        }
    } else {
        Limits::default()
    }
}

fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Request head parser: never panics; fast path equals the reference scanner; accepted
/// heads are in bounds and well formed; a prefix is either incomplete or already final.
pub fn request_head(data: &[u8]) {
    let limits = head_limits(data.len());
    let fast = parse_request_head(data, &limits);
    let reference = parse_request_head_reference(data, &limits);
    assert_eq!(
        format!("{fast:?}"),
        format!("{reference:?}"),
        "fast path and scanner disagree"
    );
    match &fast {
        Ok(Some(h)) => check_head(data, h, &limits),
        Ok(None) => assert!(data.len() < limits.max_header_size),
        Err(_) => {}
    }
    for k in [data.len() / 2, data.len().saturating_sub(1)] {
        match parse_request_head(&data[..k], &limits) {
            Ok(None) => {}
            Err(e) => assert!(
                matches!(fast, Err(f) if f == e),
                "prefix {k}: {e:?}, whole: {fast:?}"
            ),
            Ok(Some(p)) => {
                let f = fast
                    .as_ref()
                    .ok()
                    .and_then(|f| f.as_ref())
                    .expect("whole must be complete too");
                assert_eq!(format!("{p:?}"), format!("{f:?}"));
            }
        }
    }
}

fn check_head(data: &[u8], h: &RequestHead, limits: &Limits) {
    assert!(h.start <= h.len && h.len <= data.len() && h.len <= limits.max_header_size);
    let head = &data[..h.len];
    assert!(head.ends_with(b"\r\n\r\n"));
    for (i, &b) in head.iter().enumerate() {
        if b == b'\r' {
            assert_eq!(head.get(i + 1), Some(&b'\n'), "bare CR at {i}");
        }
        if b == b'\n' {
            assert!(i > 0 && head[i - 1] == b'\r', "bare LF at {i}");
        }
    }
    let spans = [h.method, h.target]
        .into_iter()
        .chain(h.headers.iter().flat_map(|x| [x.name, x.value]));
    for s in spans {
        assert!(h.start <= s.start as usize && s.start <= s.end && s.end as usize <= h.len);
    }
    let method = h.method(data);
    assert!(!method.is_empty() && method.iter().all(|&b| tchar(b)));
    let target = h.target(data);
    assert!(!target.is_empty() && target.len() <= limits.max_uri_len);
    assert!(target.iter().all(|&b| b > 0x20 && b != 0x7f));
    assert!(h.minor_version <= 1);
    for x in &h.headers {
        let name = x.name.of(data);
        let value = x.value.of(data);
        assert!(!name.is_empty() && name.iter().all(|&b| tchar(b)));
        assert!(value
            .iter()
            .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f)));
        assert!(!value.starts_with(b" ") && !value.starts_with(b"\t"));
        assert!(!value.ends_with(b" ") && !value.ends_with(b"\t"));
    }
    if h.framing == Framing::Chunked {
        assert_eq!(h.minor_version, 1);
        assert!(!h
            .headers
            .iter()
            .any(|x| x.name.of(data).eq_ignore_ascii_case(b"content-length")));
    }
}

/// What decoding produced: result (consumed bytes), body bytes, trailers, done.
type Decoded = (Result<usize, ParseError>, Vec<u8>, Vec<Trailer>, bool);

fn decode_pieces(framing: Framing, limits: &Limits, pieces: &[&[u8]]) -> Decoded {
    let mut dec = BodyDecoder::new(framing, limits);
    let mut body = Vec::new();
    let mut consumed = 0;
    for piece in pieces {
        if dec.is_done() {
            break;
        }
        match dec.decode(piece, &mut |d| body.extend_from_slice(d)) {
            Ok(n) => {
                assert!(n <= piece.len());
                assert!(
                    n == piece.len() || dec.is_done(),
                    "stopped early without finishing"
                );
                consumed += n;
            }
            Err(e) => return (Err(e), body, Vec::new(), false),
        }
    }
    assert!(body.len() <= consumed);
    let done = dec.is_done();
    (Ok(consumed), body, dec.take_trailers(), done)
}

/// Body decoder: the first two bytes choose framing, limits and a split point; decoding
/// the rest in two pieces (and, when short, byte by byte) equals decoding it whole.
pub fn chunked(data: &[u8]) {
    if data.len() < 2 {
        return;
    }
    let ctl = u16::from_le_bytes([data[0], data[1]]);
    let input = &data[2..];
    let framing = if ctl & 0xc000 == 0xc000 {
        Framing::Length(u64::from(ctl & 0xff))
    } else {
        Framing::Chunked
    };
    let limits = if ctl & 0x2000 != 0 {
        Limits {
            max_chunk_ext_size: 8,
            max_trailer_size: 32,
            ..Limits::default()
        }
    } else {
        Limits::default()
    };
    let split = usize::from(ctl & 0x1fff) % (input.len() + 1);
    let whole = decode_pieces(framing, &limits, &[input]);
    let two = decode_pieces(framing, &limits, &[&input[..split], &input[split..]]);
    assert_eq!(whole, two, "split at {split}");
    if input.len() <= 256 {
        let bytes: Vec<&[u8]> = input.chunks(1).collect();
        assert_eq!(
            whole,
            decode_pieces(framing, &limits, &bytes),
            "byte by byte"
        );
    }
}

/// Tiny deterministic PRNG for the stable runner.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

/// Byte strings that matter to HTTP/1.1 framing, spliced in by the mutator.
const DICTIONARY: &[&[u8]] = &[
    b"\r",
    b"\n",
    b"\r\n",
    b"\r\n\r\n",
    b" ",
    b"\t",
    b":",
    b";",
    b"=",
    b"\"",
    b"\\",
    b",",
    b"\0",
    b"\x7f",
    b"\xff",
    b"0",
    b"1",
    b"f",
    b"F",
    b"x",
    b"-",
    b"+",
    b"_",
    b"HTTP/1.0",
    b"HTTP/1.1",
    b"HTTP/2.0",
    b"Host: h\r\n",
    b"Content-Length: ",
    b"Transfer-Encoding: ",
    b"chunked",
    b"gzip",
    b"Connection: ",
    b"close",
    b"keep-alive",
    b"upgrade",
    b"Expect: 100-continue\r\n",
    b"0\r\n\r\n",
    b"ffffffffffffffff",
    b"18446744073709551616",
];

/// One mutated input derived from the seeds.
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(7) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next_u64() as u8;
            }
            1 | 2 => {
                let word = DICTIONARY[rng.below(DICTIONARY.len())];
                v.splice(at..at, word.iter().copied());
            }
            3 if !v.is_empty() => {
                let end = (at + 1 + rng.below(8)).min(v.len());
                v.drain(at.min(end)..end);
            }
            4 => {
                let end = (at + rng.below(16)).min(v.len());
                let copy = v[at..end].to_vec();
                v.splice(at..at, copy);
            }
            5 => v.truncate(at),
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                v.truncate(at);
                v.extend_from_slice(&other[from..]);
            }
        }
    }
    v
}

/// Runs `target` over every seed, then over mutated inputs until `deadline` or `max_iters`.
/// Returns the number of inputs run.
pub fn stable_loop(
    target: fn(&[u8]),
    seeds: &[Vec<u8>],
    seed: u64,
    deadline: Instant,
    max_iters: u64,
) -> u64 {
    for s in seeds {
        target(s);
    }
    let mut rng = Rng(seed | 1);
    let mut n = seeds.len() as u64;
    while n < max_iters && (!n.is_multiple_of(256) || Instant::now() < deadline) {
        target(&mutate(&mut rng, seeds));
        n += 1;
    }
    n
}

/// Reads `corpus/<target>/*` (seeds and anything a fuzzer added).
pub fn load_corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

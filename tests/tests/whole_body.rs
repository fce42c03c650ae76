//! A body taken whole after the shard's turn (`Request::with_whole_body` /
//! `take_whole_body`, as the Node binding does after each `run_ready`), the rest streamed:
//! every body arrives exact, also when the engine's chunk buffers are reused by the bodies
//! that follow, when a body spans several receive buffers, and when one is too big or
//! arrives in parts.
use std::cell::RefCell;
use std::os::unix::net::UnixStream;
use std::rc::Rc;
use std::time::{Duration, Instant};

use ringhttp::{Request, Response};
use ringhttp_tests::*;

const MAX: usize = 16 * 1024;

fn post(url: &str, body: &[u8]) -> Vec<u8> {
    let mut r = format!(
        "POST {url} HTTP/1.1\r\nHost: t\r\nContent-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    r.extend_from_slice(body);
    r
}

/// A body of `n` bytes that differs with `seed`.
fn body(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| b'a' + ((i as u32 * 7 + u32::from(seed) * 13) % 26) as u8)
        .collect()
}

fn answer(how: &str, b: &[u8]) -> String {
    format!("{how} len={} fnv={:x}", b.len(), fnv(b))
}

fn client(addr: std::net::SocketAddr) {
    let mut c = Client::connect_addr(addr);
    // Alone in one write: it is all there after the turn that read it.
    let small = body(100, 1);
    c.send(post("/small", &small));
    assert_eq!(c.response().text(), answer("whole", &small));
    // Pipelined in one write, of sizes up to 3 KiB: each exact, whichever way it went.
    let bodies: Vec<Vec<u8>> = (0..24u8)
        .map(|i| body(1 + usize::from(i) * 125, i))
        .collect();
    let all: Vec<u8> = bodies.iter().flat_map(|b| post("/p", b)).collect();
    c.send(all);
    for (r, b) in c.responses(bodies.len()).iter().zip(&bodies) {
        let t = r.text();
        assert!(
            t == answer("whole", b) || t == answer("stream", b),
            "{t} for {} bytes",
            b.len()
        );
    }
    // Larger than a 4 KiB receive buffer (joined where buffers are that small), and over the
    // limit (streamed).
    for (n, how) in [(12_000usize, None), (20_000, Some("stream"))] {
        let b = body(n, n as u8);
        c.send(post("/big", &b));
        let t = c.response().text();
        match how {
            Some(h) => assert_eq!(t, answer(h, &b)),
            None => assert!(t == answer("whole", &b) || t == answer("stream", &b), "{t}"),
        }
    }
    // In parts with a pause: not whole after the first turn, so streamed.
    let b = body(3000, 9);
    let req = post("/parts", &b);
    let (head, rest) = req.split_at(req.len() - 1000);
    c.send(head);
    std::thread::sleep(Duration::from_millis(50));
    c.send(rest);
    assert_eq!(c.response().text(), answer("stream", &b));
    // The buffers streamed bodies went through serve the next ones.
    for i in 0..8u8 {
        let b = body(500 + usize::from(i) * 300, 100 + i);
        c.send(post("/again", &b));
        assert_eq!(c.response().text(), answer("whole", &b));
    }
    // take_whole_body (the owned variant) too.
    let b = body(2000, 77);
    c.send(post("/owned", &b));
    assert_eq!(c.response().text(), answer("whole", &b));
}

type Pending = Rc<RefCell<Vec<(Request, Response)>>>;

/// After a turn: bodies that are all there are answered at once, the others streamed.
fn take_bodies(pending: &Pending) -> bool {
    let list = std::mem::take(&mut *pending.borrow_mut());
    let any = !list.is_empty();
    for (req, mut res) in list {
        let got = if req.url() == "/owned" {
            req.take_whole_body(MAX).map(|b| answer("whole", &b))
        } else {
            req.with_whole_body(MAX, |b| answer("whole", b))
        };
        match got {
            Some(text) => res.end_with(text),
            None => req.read_to_end(move |b| res.end_with(answer("stream", &b))),
        }
    }
    any
}

both_backends!(
    fn whole_bodies_after_the_turn(backend: BackendKind) {
        let pending: Pending = Rc::default();
        let p = pending.clone();
        let (mut shard, addr) = ServerBuilder::new()
            .backend(backend)
            .build_shard("127.0.0.1:0")
            .expect("build_shard");
        // The shard's own listeners may hold what is not Send (the requests kept here).
        let h = shard.handlers_mut();
        *h = std::mem::take(h).on_request(move |req, res| p.borrow_mut().push((req, res)));
        let addr = addr.expect("tcp address");
        let (done, done_tx) = UnixStream::pair().unwrap();
        let client = std::thread::spawn(move || {
            let _wake_on_exit = done_tx;
            client(addr)
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !client.is_finished() {
            assert!(Instant::now() < deadline, "client did not finish");
            let mut next = shard.run_ready().expect("run_ready");
            // What was answered here is sent by the next turn, at once.
            while take_bodies(&pending) {
                next = shard.run_ready().expect("run_ready");
            }
            poll_shard(&shard, &done, next);
        }
        client.join().expect("client thread");
    }
);

//! A shard driven from a plain `poll(2)` loop in the test thread (`build_shard`,
//! `pollable_fd`, `run_ready`), while a client thread sends requests.
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use ringhttp_tests::*;

const KEEP_ALIVE: Duration = Duration::from_millis(300);
/// The idle connection closes this long after KEEP_ALIVE.
const BUFFER: Duration = Duration::from_millis(100);

/// What the client thread does; returns how long the server took to close an idle
/// keep-alive connection.
fn client(addr: std::net::SocketAddr) -> Duration {
    let mut a = Client::connect_addr(addr);
    for i in 0..3 {
        a.send(get(&format!("/a{i}")));
        assert_eq!(a.response().text(), format!("ext /a{i}"));
    }
    let all: String = (0..10).map(|i| get(&format!("/p{i}"))).collect();
    a.send(all);
    for (i, r) in a.responses(10).into_iter().enumerate() {
        assert_eq!(r.text(), format!("ext /p{i}"));
    }
    // Finished from another thread: the shard must be woken through its pollable fd.
    let mut b = Client::connect_addr(addr);
    b.send(get("/remote"));
    assert_eq!(b.response().text(), "remote /remote");
    let mut body = b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n".to_vec();
    body.extend_from_slice(&pattern(100_000));
    b.send(body);
    assert_eq!(b.response().text(), "ext /body 100000");
    // The keep-alive timer fires with no socket activity: the loop must honour the
    // timeout run_ready() returned.
    let mut c = Client::connect_addr(addr);
    c.send(get("/idle"));
    c.response();
    let t0 = Instant::now();
    c.expect_closed();
    t0.elapsed()
}

both_backends!(
    fn externally_driven_shard(backend: BackendKind) {
        let (mut shard, addr) = ServerBuilder::new()
            .backend(backend)
            .keep_alive_timeout(KEEP_ALIVE)
            .keep_alive_timeout_buffer(BUFFER)
            .on_request(|req, res| {
                let url = req.url().into_owned();
                if url == "/remote" {
                    let remote = res.into_remote();
                    std::thread::spawn(move || {
                        std::thread::sleep(Duration::from_millis(20));
                        remote.end(200, vec![], format!("remote {url}").into_bytes());
                    });
                    return;
                }
                req.read_to_end(move |body| {
                    let mut res = res;
                    let len = if body.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", body.len())
                    };
                    res.end_with(format!("ext {url}{len}"));
                });
            })
            .build_shard("127.0.0.1:0")
            .expect("build_shard");
        assert_eq!(shard.backend(), expected_backend(backend));
        let addr = addr.expect("tcp address");
        let (done, done_tx) = UnixStream::pair().unwrap();
        let client = std::thread::spawn(move || {
            let _wake_on_exit = done_tx;
            client(addr)
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        while !client.is_finished() {
            assert!(Instant::now() < deadline, "client did not finish");
            let next = shard.run_ready().expect("run_ready");
            poll_shard(&shard, &done, next);
        }
        let idle_close = client.join().expect("client thread");
        assert!(
            idle_close >= KEEP_ALIVE + BUFFER - Duration::from_millis(50)
                && idle_close < KEEP_ALIVE + BUFFER + Duration::from_millis(150),
            "keep-alive close after {idle_close:?}"
        );
        shard.close();
        while !shard.is_finished() {
            assert!(
                Instant::now() < deadline,
                "shard did not finish after close()"
            );
            let next = shard.run_ready().expect("run_ready");
            poll_shard(&shard, &done, next.or(Some(Duration::from_millis(10))));
        }
        assert_eq!(shard.connections(), 0);
        drop(shard);
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "listener closed"
        );
    }
);

//! Timeouts with Node v20's semantics (server.timeout, keepAliveTimeout, headersTimeout,
//! requestTimeout, req/res.setTimeout), each on io_uring and epoll, with short deadlines
//! and windows of [deadline - 30 ms, deadline + 250 ms] around the observed close.
mod common_timeouts;

both_backends!(
    keep_alive_idle_close_one_second_after_advertised,
    keep_alive_timeout_buffer_is_configurable,
    request_after_advertised_keep_alive_within_buffer_is_served,
    deadlines_restart_per_request,
    silent_connection_closed_at_headers_timeout,
    slowloris_closed_at_headers_timeout,
    stalled_body_gets_408_at_request_timeout,
    stalled_body_after_response_started_is_closed_without_408,
    keep_alive_header_advertised,
    server_timeout_without_listener_destroys,
    server_timeout_listener_keeps_connection,
    server_timeout_listener_can_destroy,
    server_set_timeout_applies_to_new_connections,
    server_timeout_not_while_idle_under_keep_alive,
    req_set_timeout_without_callback_destroys,
    req_set_timeout_callback_fires_while_body_incomplete,
    req_set_timeout_callback_ignored_once_request_complete,
    res_set_timeout_callback_can_answer,
    res_set_timeout_without_callback_destroys,
);

mod cases {
    use std::cell::RefCell;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    use super::common_timeouts::*;
    use ringhttp::{BackendKind, ErrorKind, Response, ServerBuilder};

    thread_local! {
        /// Responses a handler keeps open (handlers run on the shard thread).
        static KEPT: RefCell<Vec<Response>> = const { RefCell::new(Vec::new()) };
    }

    fn hello() -> ServerBuilder {
        ServerBuilder::new().on_request(|_req, mut res| res.end_with("ok"))
    }

    /// Serves one request on a new connection and waits for the idle close: the response,
    /// when it was read and when the close came.
    fn idle_close(kind: BackendKind, b: ServerBuilder) -> (String, Instant, Instant) {
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        let r = c.read_response();
        assert!(r.starts_with("HTTP/1.1 200 OK"), "{r}");
        let written = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert!(
            c.buf.is_empty(),
            "nothing after the response: {:?}",
            c.text()
        );
        (r, written, at)
    }

    /// Node 20 (and the default here): an idle keep-alive connection closes 1 s after the
    /// keepAliveTimeout it advertises, so a client that trusts `Keep-Alive: timeout=N`
    /// never reuses a connection the server is closing.
    pub fn keep_alive_idle_close_one_second_after_advertised(kind: BackendKind) {
        let (r, written, at) = idle_close(kind, hello().keep_alive_timeout(ms(200)));
        // Whole seconds, rounded down, as Node's.
        assert!(
            r.contains("\r\nKeep-Alive: timeout=0\r\n"),
            "advertised: {r}"
        );
        assert_near("keepAliveTimeout + 1 s", written, at, ms(1200));
    }

    pub fn keep_alive_timeout_buffer_is_configurable(kind: BackendKind) {
        let b = |buffer| {
            hello()
                .keep_alive_timeout(ms(300))
                .keep_alive_timeout_buffer(ms(buffer))
        };
        let (_, written, at) = idle_close(kind, b(100));
        assert_near("keepAliveTimeout + buffer", written, at, ms(400));
        // Zero: the close comes at the advertised keepAliveTimeout.
        let (_, written, at) = idle_close(kind, b(0));
        assert_near("keepAliveTimeout, no buffer", written, at, ms(300));
    }

    pub fn request_after_advertised_keep_alive_within_buffer_is_served(kind: BackendKind) {
        let b = hello()
            .keep_alive_timeout(ms(300))
            .keep_alive_timeout_buffer(ms(300));
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        c.read_response();
        // Past the advertised timeout, within the buffer: the request is served.
        std::thread::sleep(ms(450));
        c.send(GET);
        let r = c.read_response();
        assert!(
            r.starts_with("HTTP/1.1 200 OK"),
            "second request answered: {r}"
        );
        let second = Instant::now();
        // The first deadline (150 ms from here) no longer applies: a new one from now.
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_near("keep-alive restarted by a new request", second, at, ms(600));
    }

    pub fn deadlines_restart_per_request(kind: BackendKind) {
        // node#58140: headersTimeout must count from each request's first byte.
        let b = hello()
            .headers_timeout(ms(400))
            .request_timeout(ms(1000))
            .keep_alive_timeout(ms(3000));
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        c.read_response();
        std::thread::sleep(ms(450)); // past the headers deadline counted from accept
        c.send(b"GET /2 HTTP/1.1\r\nHost");
        std::thread::sleep(ms(250));
        c.send(b": t\r\n\r\n");
        let r = c.read_response();
        assert!(
            r.starts_with("HTTP/1.1 200 OK"),
            "second request answered: {r}"
        );
        // A third one that stalls is cut off 400 ms after its own first byte.
        c.send(b"GET /3 HTTP/1.1\r\n");
        let first_byte = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert!(
            c.text().starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{}",
            c.text()
        );
        assert_near(
            "headersTimeout of the third request",
            first_byte,
            at,
            ms(400),
        );
    }

    pub fn silent_connection_closed_at_headers_timeout(kind: BackendKind) {
        // hyper#2457: a client that connects and says nothing.
        let (_s, addr) = serve(kind, hello().headers_timeout(ms(400)));
        let mut c = Client::connect(addr);
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_eq!(
            c.text(),
            "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n",
            "Node's exact bytes"
        );
        assert_near("silent connection", c.connected, at, ms(400));
    }

    pub fn slowloris_closed_at_headers_timeout(kind: BackendKind) {
        let (_s, addr) = serve(kind, hello().headers_timeout(ms(600)));
        let mut c = Client::connect(addr);
        let mut w = c.s.try_clone().unwrap();
        let start = c.connected;
        let trickle = std::thread::spawn(move || {
            let head = format!("GET / HTTP/1.1\r\nHost: t\r\nX-Long: {}", "a".repeat(200));
            for b in head.bytes() {
                if std::io::Write::write_all(&mut w, &[b]).is_err() {
                    return true;
                }
                std::thread::sleep(ms(100));
                if start.elapsed() > BOUND {
                    return false;
                }
            }
            false
        });
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert!(
            c.text().starts_with("HTTP/1.1 408 Request Timeout\r\n"),
            "{}",
            c.text()
        );
        assert_near("slowloris", start, at, ms(600));
        assert!(trickle.join().unwrap(), "the trickling writer was cut off");
    }

    pub fn stalled_body_gets_408_at_request_timeout(kind: BackendKind) {
        let errors = Arc::new(Mutex::new(Vec::new()));
        let e = errors.clone();
        let b = ServerBuilder::new()
            .on_request(|req, res| {
                req.read_to_end(move |_| drop(res));
            })
            .on_client_error(move |err, _| {
                e.lock().unwrap().push((err.kind(), err.code()));
                None
            })
            .headers_timeout(ms(300))
            .request_timeout(ms(700));
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
        let first_byte = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_eq!(
            c.text(),
            "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n\r\n"
        );
        assert_near("stalled body", first_byte, at, ms(700));
        assert_eq!(
            *errors.lock().unwrap(),
            vec![(ErrorKind::Timeout, "ERR_HTTP_REQUEST_TIMEOUT")],
            "'clientError' saw the timeout"
        );
    }

    pub fn stalled_body_after_response_started_is_closed_without_408(kind: BackendKind) {
        let b = ServerBuilder::new()
            .on_request(|_req, mut res| {
                res.write("partial");
                KEPT.with(|k| k.borrow_mut().push(res));
            })
            .request_timeout(ms(500))
            .headers_timeout(ms(300));
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
        let first_byte = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        let t = c.text();
        assert!(
            t.starts_with("HTTP/1.1 200 OK\r\n") && !t.contains("408"),
            "{t}"
        );
        assert_near("stalled body, response started", first_byte, at, ms(500));
    }

    pub fn keep_alive_header_advertised(kind: BackendKind) {
        let b = ServerBuilder::new()
            .on_request(|req, mut res| {
                if req.url() == "/own" {
                    res.set_header("Keep-Alive", "timeout=9").unwrap();
                }
                res.end_with("ok");
            })
            .keep_alive_timeout(ms(2500));
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        let r = c.read_response();
        assert!(
            r.contains("\r\nKeep-Alive: timeout=2\r\n"),
            "whole seconds: {r}"
        );
        c.send(b"GET /own HTTP/1.1\r\nHost: t\r\n\r\n");
        let r = c.read_response();
        assert_eq!(r.matches("Keep-Alive:").count(), 1, "{r}");
        assert!(
            r.contains("Keep-Alive: timeout=9\r\n"),
            "the handler's own: {r}"
        );
        let (_s2, addr) = serve(kind, hello().keep_alive_timeout(ms(0)));
        let mut c = Client::connect(addr);
        c.send(GET);
        let r = c.read_response();
        assert!(
            !r.contains("Keep-Alive:"),
            "keepAliveTimeout 0: nothing to advertise: {r}"
        );
        let (end, _) = c.read_until_close(ms(300));
        assert_eq!(end, End::Open, "keepAliveTimeout 0 keeps the connection");
    }

    pub fn server_timeout_without_listener_destroys(kind: BackendKind) {
        let (_s, addr) = serve(kind, hello().timeout(ms(300)).keep_alive_timeout(ms(0)));
        let mut c = Client::connect(addr);
        c.send(GET);
        c.read_response();
        let last = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_near("server.timeout, no listener", last, at, ms(300));
    }

    pub fn server_timeout_listener_keeps_connection(kind: BackendKind) {
        let fired = Arc::new(Mutex::new(Vec::new()));
        let f = fired.clone();
        let b = hello()
            .timeout(ms(300))
            .keep_alive_timeout(ms(0))
            .on_timeout(move |_info| f.lock().unwrap().push(Instant::now()));
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        c.read_response();
        let last = Instant::now();
        let (end, _) = c.read_until_close(ms(900));
        assert_eq!(end, End::Open, "a listener takes over from destroying");
        let fired = fired.lock().unwrap();
        assert_eq!(fired.len(), 1, "once per period of inactivity");
        assert_near("'timeout' event", last, fired[0], ms(300));
        // Activity re-arms it: the connection still serves.
        c.send(GET);
        assert!(c.read_response().starts_with("HTTP/1.1 200"));
    }

    pub fn server_timeout_listener_can_destroy(kind: BackendKind) {
        let ids = Arc::new(AtomicUsize::new(0));
        let n = ids.clone();
        let b = hello()
            .timeout(ms(300))
            .keep_alive_timeout(ms(0))
            .on_timeout(move |info| {
                n.fetch_add(1, Ordering::SeqCst);
                info.destroy();
            });
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        c.read_response();
        let last = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_eq!(ids.load(Ordering::SeqCst), 1);
        assert_near("socket.destroy() from 'timeout'", last, at, ms(300));
    }

    pub fn server_set_timeout_applies_to_new_connections(kind: BackendKind) {
        // keepAliveTimeout 0: server.timeout also covers the idle connection (as in Node).
        let (s, addr) = serve(kind, hello().keep_alive_timeout(ms(0)));
        let mut old = Client::connect(addr);
        old.send(GET);
        old.read_response();
        // `old` is accepted (it got its response); the change applies from the barrier on.
        s.set_timeout(ms(300));
        ringhttp_tests::shard_barrier(&s);
        let mut new = Client::connect(addr);
        new.send(GET);
        new.read_response();
        let last = Instant::now();
        let (end, at) = new.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_near("server.setTimeout on a new connection", last, at, ms(300));
        let (end, _) = old.read_until_close(ms(100));
        assert_eq!(end, End::Open, "an older connection keeps its timeout");
    }

    pub fn server_timeout_not_while_idle_under_keep_alive(kind: BackendKind) {
        // Node replaces server.timeout by keepAliveTimeout + 1 s while the connection is
        // idle, and brings it back with the next request head.
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let b = ServerBuilder::new()
            .on_request(|req, mut res| {
                if req.url() == "/hold" {
                    KEPT.with(|k| k.borrow_mut().push(res));
                } else {
                    res.end_with("ok");
                }
            })
            .timeout(ms(300))
            .keep_alive_timeout(ms(1500))
            .on_timeout(move |info| {
                f.fetch_add(1, Ordering::SeqCst);
                info.destroy();
            });
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        assert!(c.read_response().starts_with("HTTP/1.1 200"));
        let (end, _) = c.read_until_close(ms(700));
        assert_eq!(
            end,
            End::Open,
            "idle under keepAliveTimeout: no server.timeout"
        );
        assert_eq!(fired.load(Ordering::SeqCst), 0);
        c.send(b"GET /hold HTTP/1.1\r\nHost: t\r\n\r\n");
        let sent = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_eq!(fired.load(Ordering::SeqCst), 1);
        assert_near("server.timeout after the idle period", sent, at, ms(300));
    }

    pub fn req_set_timeout_without_callback_destroys(kind: BackendKind) {
        let b = ServerBuilder::new().on_request(|req, res| {
            req.set_socket_timeout(ms(300));
            KEPT.with(|k| k.borrow_mut().push(res));
        });
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        let sent = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert!(c.buf.is_empty(), "{:?}", c.text());
        assert_near("req.setTimeout(300)", sent, at, ms(300));
    }

    pub fn req_set_timeout_callback_fires_while_body_incomplete(kind: BackendKind) {
        let fired = Arc::new(Mutex::new(Vec::new()));
        let f = fired.clone();
        let b = ServerBuilder::new().on_request(move |req, res| {
            let f = f.clone();
            req.set_timeout(ms(300), move |info| {
                f.lock().unwrap().push(Instant::now());
                if f.lock().unwrap().len() == 2 {
                    info.destroy();
                }
            });
            req.read_to_end(move |_| drop(res));
        });
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc");
        let sent = Instant::now();
        // First expiry: the callback runs and the connection stays.
        let (end, _) = c.read_until_close(ms(450));
        assert_eq!(end, End::Open);
        // Activity restarts it; the second expiry destroys from the callback.
        c.send(b"de");
        let more = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        let fired = fired.lock().unwrap();
        assert_eq!(fired.len(), 2);
        assert_near("req 'timeout'", sent, fired[0], ms(300));
        assert_near("req 'timeout' after activity", more, at, ms(300));
    }

    pub fn req_set_timeout_callback_ignored_once_request_complete(kind: BackendKind) {
        // Node emits the request's 'timeout' only while it is incomplete; a bodyless GET
        // is complete, so nobody listens and the socket is destroyed.
        let fired = Arc::new(AtomicUsize::new(0));
        let f = fired.clone();
        let b = ServerBuilder::new().on_request(move |req, res| {
            let f = f.clone();
            req.set_timeout(ms(300), move |_| {
                f.fetch_add(1, Ordering::SeqCst);
            });
            KEPT.with(|k| k.borrow_mut().push(res));
        });
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        let sent = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert_eq!(fired.load(Ordering::SeqCst), 0);
        assert_near("req.setTimeout on a complete request", sent, at, ms(300));
    }

    pub fn res_set_timeout_callback_can_answer(kind: BackendKind) {
        let b = ServerBuilder::new()
            .on_request(|_req, mut res| {
                res.set_timeout(ms(300), |_| {
                    KEPT.with(|k| {
                        if let Some(mut r) = k.borrow_mut().pop() {
                            r.end_with("late");
                        }
                    })
                });
                KEPT.with(|k| k.borrow_mut().push(res));
            })
            .keep_alive_timeout(ms(2000));
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        let sent = Instant::now();
        let r = c.read_response();
        assert!(r.ends_with("\r\n\r\nlate"), "{r}");
        assert_near("res 'timeout'", sent, Instant::now(), ms(300));
        // The per-message timeout ended with the response: keepAliveTimeout (2 s) rules.
        let (end, _) = c.read_until_close(ms(500));
        assert_eq!(end, End::Open);
    }

    pub fn res_set_timeout_without_callback_destroys(kind: BackendKind) {
        let b = ServerBuilder::new().on_request(|_req, mut res| {
            res.write("partial");
            res.set_socket_timeout(ms(300));
            KEPT.with(|k| k.borrow_mut().push(res));
        });
        let (_s, addr) = serve(kind, b);
        let mut c = Client::connect(addr);
        c.send(GET);
        let sent = Instant::now();
        let (end, at) = c.read_until_close(BOUND);
        assert_eq!(end, End::Closed);
        assert!(c.text().starts_with("HTTP/1.1 200 OK"), "{}", c.text());
        assert_near("res.setTimeout(300)", sent, at, ms(300));
    }
}

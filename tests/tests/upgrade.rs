//! 'upgrade' and 'connect': the listener gets the request, the raw socket and the bytes
//! already read past the head; without listeners Node's behaviour (ordinary request /
//! closed connection).
use std::rc::Rc;

use ringhttp_tests::*;

both_backends!(
    fn upgrade_echoes_raw_bytes_head_first(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_upgrade(|req, sock, head| {
                assert_eq!(req.header("upgrade").as_deref(), Some("echo"));
                sock.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
                sock.write(&head);
                let sock = Rc::new(sock);
                let echo = sock.clone();
                sock.on_data(move |d| {
                    echo.write(d);
                });
            }),
        );
        let mut c = Client::connect(&server);
        c.send(
            b"GET /chat HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nHEAD",
        );
        // Each piece is sent once the previous one came back: three separate reads.
        let want =
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nHEAD";
        let got = c.read_exact_len(want.len());
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        for piece in ["-more", "-and-more"] {
            c.send(piece.as_bytes());
            assert_eq!(c.read_exact_len(piece.len()), piece.as_bytes());
        }
    }
);

both_backends!(
    fn connect_tunnel_gets_head_and_ends(backend: BackendKind) {
        let server = start(
            backend,
            ServerBuilder::new().on_connect(|req, sock, head| {
                sock.write(format!(
                    "HTTP/1.1 200 Connection Established\r\n\r\n{}|",
                    req.url()
                ));
                sock.write(&head);
                sock.end();
            }),
        );
        let mut c = Client::connect(&server);
        c.send(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nxyz");
        let got = c.read_to_close();
        assert_eq!(
            String::from_utf8_lossy(&got),
            "HTTP/1.1 200 Connection Established\r\n\r\nh:443|xyz"
        );
    }
);

both_backends!(
    fn without_listeners_upgrade_is_a_request_and_connect_closes(backend: BackendKind) {
        let server = start_text(backend, |req| format!("normal {}", req.url()));
        let mut c = Client::connect(&server);
        c.send(b"GET /u HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\n");
        assert_eq!(c.response().text(), "normal /u");
        let mut c = Client::connect(&server);
        c.send(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\n");
        assert!(c.read_to_close().is_empty());
    }
);

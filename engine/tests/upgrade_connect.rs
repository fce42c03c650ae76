use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn upgrade_echo_and_connect() {
    for backend in [ringhttp::BackendKind::Uring, ringhttp::BackendKind::Epoll] {
        let server = ringhttp::ServerBuilder::new()
            .shards(1)
            .backend(backend)
            .on_upgrade(|_req, sock, head| {
                sock.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n");
                sock.write(&head);
                let s2 = std::rc::Rc::new(sock);
                let s3 = s2.clone();
                s2.on_data(move |d| {
                    s3.write(d);
                });
            })
            .on_connect(|req, sock, head| {
                sock.write(format!("HTTP/1.1 200 Connection Established\r\n\r\n{}|", req.url()));
                sock.write(&head);
                sock.end();
            })
            .listen("127.0.0.1:0")
            .unwrap();
        let addr = server.local_addr().unwrap();
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.write_all(
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: echo\r\n\r\nHEAD",
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        c.write_all(b"-more").unwrap();
        let mut got = Vec::new();
        let want = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\nHEAD-more";
        let mut buf = [0u8; 256];
        while got.len() < want.len() {
            let n = c.read(&mut buf).unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        drop(c);
        eprintln!("upgrade ok {backend}");
        let mut c = TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        c.write_all(b"CONNECT h:443 HTTP/1.1\r\nHost: h:443\r\n\r\nxyz")
            .unwrap();
        let mut s = String::new();
        c.read_to_string(&mut s).unwrap();
        assert_eq!(s, "HTTP/1.1 200 Connection Established\r\n\r\nh:443|xyz");
        server.close();
        drop(server);
    }
}

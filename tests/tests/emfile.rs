//! Out of file descriptors: accept must back off instead of spinning on a listener that
//! stays readable, and serve again once descriptors are free. Its own test binary, since
//! it lowers the process's RLIMIT_NOFILE.
use std::net::TcpStream;
use std::time::{Duration, Instant};

use ringhttp_tests::*;

fn cpu_time() -> Duration {
    let mut ru = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF always succeeds.
    let ru = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, ru.as_mut_ptr());
        ru.assume_init()
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn open_fds() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count() as u64)
        .unwrap_or(64)
}

#[test]
fn accept_backs_off_on_emfile_and_recovers() {
    for backend in backends() {
        let server = start_text(backend, |req| req.url().into_owned());
        let addr = server.local_addr().unwrap();
        // A little headroom over what is open now: the clients below use it up.
        let limit = open_fds() + 24;
        let mut old = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: get/setrlimit read and write the structs we pass.
        unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut old);
            let new = libc::rlimit {
                rlim_cur: limit,
                rlim_max: old.rlim_max,
            };
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &new), 0);
        }
        // Connect until our own descriptors run out; the kernel completes the handshakes
        // (backlog), the server cannot accept them all.
        let mut clients = Vec::new();
        while let Ok(c) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            clients.push(c);
            if clients.len() > 200 {
                break;
            }
        }
        assert!(
            clients.len() >= 5,
            "{backend}: only {} clients connected",
            clients.len()
        );
        // While descriptors are exhausted the shard must not spin.
        let t0 = cpu_time();
        let start = Instant::now();
        std::thread::sleep(Duration::from_millis(600));
        let used = cpu_time() - t0;
        let wall = start.elapsed();
        eprintln!(
            "{backend}: {} clients, cpu {used:?} / {wall:?}",
            clients.len()
        );
        assert!(
            used < wall / 3,
            "{backend}: {used:?} of CPU in {wall:?} while out of fds: accept spins"
        );
        drop(clients);
        // SAFETY: restores the limit read above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &old) };
        // Accepting resumes: a new connection is served.
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let mut c = Client::connect_addr(addr);
            c.send(get("/again"));
            let r = c.response();
            if r.text() == "/again" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{backend}: not serving after the pause"
            );
        }
    }
}

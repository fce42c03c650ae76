//! Runs the engine's example binaries (`hello`, `echo`) as a deployment would: a child
//! process, its stderr log read line by line, signals, exit codes.
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::BackendKind;

/// Builds the examples once per test binary (debug, the workspace's target dir) and
/// returns the path of `name`.
pub fn path(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "ringhttp", "--example", "hello"])
            .args(["--example", "echo"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build for the examples");
        assert!(st.success(), "building the examples failed");
    });
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/examples").join(name)
}

/// The `--backend` argument for a test's backend.
pub fn backend_arg(b: BackendKind) -> &'static str {
    match b {
        BackendKind::Uring => "uring",
        BackendKind::Epoll => "epoll",
        BackendKind::Auto => "auto",
    }
}

/// A running example: its process and its stderr lines as they come.
pub struct Example {
    pub child: Child,
    lines: Receiver<String>,
    /// Every stderr line read so far.
    pub log: Vec<String>,
}

impl Example {
    /// Starts `cmd` with stderr piped (stdout discarded) and RUST_LOG=info.
    pub fn spawn(mut cmd: Command) -> Example {
        cmd.stdout(Stdio::null())
            .stderr(Stdio::piped())
            .env("RUST_LOG", "info")
            .env_remove("RINGHTTP_BACKEND");
        let mut child = cmd.spawn().expect("spawn example");
        let err = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Example {
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Waits for a log line containing `needle`; None if the process ended or time ran out.
    pub fn wait_line(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) => {
                    self.log.push(l.clone());
                    if l.contains(needle) {
                        return Some(l);
                    }
                }
                Err(_) => return None,
            }
        }
    }

    /// Waits for the start-up line and returns the address it names.
    pub fn listening(&mut self) -> SocketAddr {
        let line = self
            .wait_line("listening on http://", Duration::from_secs(20))
            .unwrap_or_else(|| panic!("no start-up line; log: {:#?}", self.log));
        let rest = line.split("http://").nth(1).unwrap();
        rest.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// The address of the `--metrics-port` endpoint, from its log line.
    pub fn metrics_addr(&mut self) -> SocketAddr {
        let line = self
            .wait_line("metrics on http://", Duration::from_secs(10))
            .unwrap_or_else(|| panic!("no metrics line; log: {:#?}", self.log));
        let rest = line.split("http://").nth(1).unwrap();
        rest.split('/').next().unwrap().parse().unwrap()
    }

    /// Sends a signal to the process.
    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; it has not been reaped yet.
        let r = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(r, 0, "kill failed");
    }

    /// Waits for the exit (killing it after `limit`), then collects the rest of the log.
    pub fn exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("wait example") {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        while let Ok(l) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.log.push(l);
        }
        status
    }

    pub fn log_text(&self) -> String {
        self.log.join("\n")
    }
}

impl Drop for Example {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The sum over shards of the Prometheus metric `name` served at `maddr`/metrics.
pub fn metric(maddr: SocketAddr, name: &str) -> u64 {
    let mut c = crate::Client::connect_addr(maddr);
    c.send(crate::get("/metrics"));
    let text = c.response().text();
    text.lines()
        .filter(|l| l.starts_with(name) && l[name.len()..].starts_with('{'))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Waits (bounded) until the server has read `bytes` bytes in total: what the test sent
/// is in the shard, not just in the kernel, before the test acts on it.
pub fn wait_bytes_in(maddr: SocketAddr, bytes: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let n = metric(maddr, "ringhttp_received_bytes_total");
        if n >= bytes {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "server read {n} of {bytes} bytes"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Listening TCP sockets on `port` (IPv4 and IPv6), from /proc/net/tcp{,6}.
pub fn listeners_on(port: u16) -> usize {
    let want = format!(":{port:04X} ");
    ["/proc/net/tcp", "/proc/net/tcp6"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(f).ok())
        .flat_map(|t| {
            t.lines()
                .skip(1)
                // local_address is field 1, st (0A = LISTEN) field 3.
                .filter(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() > 3 && format!("{} ", &f[1][f[1].len() - 5..]) == want && f[3] == "0A"
                })
                .map(|_| ())
                .collect::<Vec<_>>()
        })
        .count()
}

/// Waits (bounded) until exactly `n` sockets listen on `port`.
pub fn wait_listeners(port: u16, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let have = listeners_on(port);
        if have == n {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{have} listeners on port {port}, want {n}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

//! Server processes under comparison: start with PORT set, wait for the port,
//! read their CPU time from /proc, kill their process group.

use crate::client::{Agent, AgentOptions};
use crate::ring::sys;
use anyhow::{bail, Context, Result};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server command; its process group is killed on drop.
pub struct Server {
    child: Child,
    /// The port it serves on.
    pub port: u16,
}

/// A currently unused loopback port.
pub fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("binding a probe socket")?;
    Ok(l.local_addr()?.port())
}

fn have_taskset() -> bool {
    Command::new("taskset")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

impl Server {
    /// Runs `sh -c "exec CMD"` with PORT set, in its own process group, optionally on `cpu`.
    pub fn start(cmd: &str, cpu: Option<usize>) -> Result<Server> {
        let port = free_port()?;
        let script = format!("exec {cmd}");
        let mut c = match cpu {
            Some(n) if have_taskset() => {
                let mut c = Command::new("taskset");
                c.args(["-c", &n.to_string(), "sh", "-c", &script]);
                c
            }
            _ => {
                let mut c = Command::new("sh");
                c.args(["-c", &script]);
                c
            }
        };
        c.env("PORT", port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let child = c.spawn().with_context(|| format!("starting {cmd:?}"))?;
        let server = Server { child, port };
        if let (Some(n), false) = (cpu, have_taskset()) {
            sys::set_affinity(server.child.id() as i32, n).context("pinning server")?;
        }
        if !server.wait_port(Duration::from_secs(20)) {
            bail!("{cmd:?} did not listen on 127.0.0.1:{port} within 20s");
        }
        server.check_answers(cmd)?;
        Ok(server)
    }

    /// A server that listens but does not answer `GET /` with a 2xx would be measured
    /// producing errors: refuse it before the load starts.
    fn check_answers(&self, cmd: &str) -> Result<()> {
        let agent = Agent::new(AgentOptions {
            keep_alive: false,
            timeout: Some(Duration::from_secs(5)),
            ..AgentOptions::default()
        });
        let url = format!("http://127.0.0.1:{}/", self.port);
        let res = agent
            .get(&url)
            .with_context(|| format!("{cmd:?}: GET {url}"))?;
        if !(200..300).contains(&res.status) {
            bail!("{cmd:?}: GET {url} answered {}", res.status);
        }
        Ok(())
    }

    fn wait_port(&self, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        while Instant::now() < end {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// utime + stime of the server and all its descendants, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let ticks: u64 = tree(self.child.id()).into_iter().map(stat_ticks).sum();
        ticks as f64 / sys::clock_ticks() as f64
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = sys::kill_process_group(self.child.id());
        let _ = self.child.wait();
    }
}

/// `pid` and its descendants (children of every thread, recursively).
fn tree(pid: u32) -> Vec<u32> {
    let mut out = vec![pid];
    let mut i = 0;
    while i < out.len() {
        let p = out[i];
        if let Ok(tasks) = std::fs::read_dir(format!("/proc/{p}/task")) {
            for t in tasks.flatten() {
                let kids = std::fs::read_to_string(t.path().join("children")).unwrap_or_default();
                out.extend(
                    kids.split_whitespace()
                        .filter_map(|k| k.parse::<u32>().ok()),
                );
            }
        }
        i += 1;
    }
    out
}

/// utime + stime (clock ticks) from /proc/<pid>/stat; 0 if the process is gone.
fn stat_ticks(pid: u32) -> u64 {
    let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some((_, rest)) = s.rsplit_once(')') else {
        return 0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: state is field 0, utime field 11, stime field 12.
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    get(11) + get(12)
}

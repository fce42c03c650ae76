//! Node's http module as a real peer: ringload's counts must match the
//! server's own counter, plain and pipelined, and the pool must talk to it.

mod common;

use common::ringload_json;
use ringload::client::{Agent, AgentOptions};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const SERVER: &str = r#"
const http = require('http');
let n = 0;
const s = http.createServer((req, res) => {
  if (req.url === '/count') { res.end(String(n)); return; }
  n++;
  if (req.url === '/chunked') { res.write('Hello, '); res.end('World!'); return; }
  res.setHeader('Content-Type', 'text/plain');
  res.end('Hello, World!');
});
s.keepAliveTimeout = 10000;
s.listen(0, '127.0.0.1', () => console.log(s.address().port));
setTimeout(() => process.exit(0), 20000);
"#;

struct Node(Child, u16);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn node() -> Option<Node> {
    let child = Command::new("node")
        .args(["-e", SERVER])
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        println!("skipping: node is not installed");
        return None;
    };
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line.trim().parse().expect("node printed its port");
    Some(Node(child, port))
}

fn count(agent: &Agent, port: u16) -> u64 {
    let r = agent
        .get(&format!("http://127.0.0.1:{port}/count"))
        .unwrap();
    String::from_utf8(r.body).unwrap().parse().unwrap()
}

#[test]
fn counts_match_node_plain_pipelined_and_chunked() {
    let Some(node) = node() else { return };
    let agent = Agent::new(AgentOptions::default());
    let base = format!("http://127.0.0.1:{}", node.1);
    let j = ringload_json(&["-t2", "-c8", "--requests", "4000", &format!("{base}/")]);
    assert_eq!(j["requests"], 4000);
    assert_eq!(count(&agent, node.1), 4000);
    let j = ringload_json(&[
        "-t1",
        "-c4",
        "--pipeline",
        "8",
        "--requests",
        "3000",
        &format!("{base}/"),
    ]);
    assert_eq!(j["requests"], 3000);
    assert_eq!(count(&agent, node.1), 7000);
    let j = ringload_json(&[
        "-t1",
        "-c4",
        "--requests",
        "1000",
        &format!("{base}/chunked"),
    ]);
    assert_eq!(j["requests"], 1000);
    assert_eq!(j["errors"]["read"], 0);
    assert_eq!(count(&agent, node.1), 8000);
    // Duration mode: never more than the server sent, at most one in flight per connection lost.
    let j = ringload_json(&["-t1", "-c4", "-d", "500ms", &format!("{base}/")]);
    let got = j["requests"].as_u64().unwrap();
    let sent = count(&agent, node.1) - 8000;
    assert!(got <= sent && sent <= got + 4, "client {got}, node {sent}");
}

#[test]
fn agent_reuses_keep_alive_sockets_with_node() {
    let Some(node) = node() else { return };
    let agent = Agent::new(AgentOptions::default());
    for _ in 0..20 {
        let r = agent
            .get(&format!("http://127.0.0.1:{}/chunked", node.1))
            .unwrap();
        assert_eq!(r.body, b"Hello, World!");
        assert_eq!(r.header("transfer-encoding"), Some("chunked"));
    }
    assert_eq!(agent.sockets_created(), 1);
}

#!/usr/bin/env bash
# Real nginx in front of the echo example, with deploy/nginx/ringhttp.conf as shipped
# (only the two ports substituted): mixed GET / POST / chunked POST load from several
# keep-alive clients, `nginx -s reload` in the middle. Passes with zero 5xx and no
# upstream error in nginx's error log. Skips (exit 0, with a message) without nginx.
#   usage: deploy/nginx/test.sh [seconds of load, default 6]
set -euo pipefail
cd "$(dirname "$0")/../.."
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [ ! -x "$NGINX" ]; then
  echo "skipped: nginx is not installed (apt-get install -y nginx)"
  exit 0
fi
SECS=${1:-6}
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build -q -p ringhttp --example echo
ECHO="$CARGO_TARGET_DIR/debug/examples/echo"

dir=$(mktemp -d)
chmod 755 "$dir"
pids=()
cleanup() {
  [ -f "$dir/nginx.pid" ] && kill "$(cat "$dir/nginx.pid")" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port)
FRONT=$(free_port)

# keepAliveTimeout above the upstream keepalive_timeout (the rule in ringhttp.conf).
# KEEPALIVE_MS below nginx's keepalive_timeout shows the race the rule avoids (502s):
# KEEPALIVE_MS=30 KEEPALIVE_BUFFER_MS=0 (the clients idle for 50 ms at times; the default
# buffer, 1 s after the advertised timeout, would hide it).
"$ECHO" --port "$UP" --shards 2 --keep-alive-timeout-ms "${KEEPALIVE_MS:-75000}" \
  --keep-alive-timeout-buffer-ms "${KEEPALIVE_BUFFER_MS:-1000}" 2>"$dir/echo.log" &
pids+=($!)

sed -e "s/127\.0\.0\.1:8080/127.0.0.1:$UP/" -e "s/listen 80;/listen 127.0.0.1:$FRONT;/" \
  deploy/nginx/ringhttp.conf >"$dir/ringhttp.conf"
grep -q "127.0.0.1:$UP" "$dir/ringhttp.conf" && grep -q "listen 127.0.0.1:$FRONT;" "$dir/ringhttp.conf"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$dir/nginx.conf" <<CONF
$user_line
worker_processes 2;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events { worker_connections 1024; }
http {
    access_log $dir/access.log;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    include $dir/ringhttp.conf;
}
CONF
"$NGINX" -t -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" 2>&1 | tail -1
"$NGINX" -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
for _ in $(seq 50); do
  python3 -c "import socket; socket.create_connection(('127.0.0.1', $FRONT)).close()" 2>/dev/null && break
  sleep 0.1
done

python3 - "$FRONT" "$SECS" "$NGINX" "$dir" <<'PY'
import base64, http.client, json, subprocess, sys, threading, time
port, secs, nginx, d = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], sys.argv[4]
stop = time.time() + secs
lock = threading.Lock()
counts = {"requests": 0, "by_status": {}, "reconnects": 0, "bad_echo": 0}

def one(conn, i):
    kind = i % 3
    if kind == 0:
        conn.request("GET", f"/get/{i}?q={i}")
        body = b""
    elif kind == 1:
        body = (b"post-%d-" % i) * (1 + i % 50)
        conn.request("POST", f"/post/{i}", body=body, headers={"Content-Type": "text/plain"})
    else:
        body = (b"chunk-%d-" % i) * (1 + i % 200)
        parts = [body[j:j + 97] for j in range(0, len(body), 97)]
        conn.request("POST", f"/chunked/{i}", body=iter(parts), encode_chunked=True,
                     headers={"Transfer-Encoding": "chunked"})
    r = conn.getresponse()
    data = r.read()
    ok = True
    if r.status == 200:
        doc = json.loads(data)
        ok = base64.b64decode(doc["body"]) == body
    return r.status, ok

def worker(w):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    i = w * 1_000_000
    while time.time() < stop:
        i += 1
        try:
            status, ok = one(conn, i)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # nginx closed an idle client keep-alive connection (the reload does that):
            # a client-side reconnect, not a server error; the request is sent again.
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            with lock:
                counts["reconnects"] += 1
            continue
        with lock:
            counts["requests"] += 1
            counts["by_status"][status] = counts["by_status"].get(status, 0) + 1
            counts["bad_echo"] += 0 if ok else 1
        if i % 97 == 0:
            time.sleep(0.05)  # some connections go idle for a moment
    conn.close()

threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
for t in threads:
    t.start()
time.sleep(secs / 2)
subprocess.run([nginx, "-e", f"{d}/error.log", "-p", d, "-c", f"{d}/nginx.conf", "-s", "reload"], check=True)
print("nginx -s reload sent", flush=True)
for t in threads:
    t.join()
print(json.dumps(counts))
fivexx = sum(n for s, n in counts["by_status"].items() if s >= 500)
errors = []
if fivexx:
    errors.append(f"{fivexx} responses were 5xx")
if counts["bad_echo"]:
    errors.append(f"{counts['bad_echo']} echoed bodies differ")
if counts["requests"] < 100:
    errors.append("too few requests completed")
if set(counts["by_status"]) != {200}:
    errors.append(f"statuses other than 200: {counts['by_status']}")
if errors:
    sys.exit("FAIL: " + "; ".join(errors))
PY

# nginx logs upstream trouble (connect/recv/send failures, premature closes, timeouts)
# at error level with "upstream" in the line.
if grep -E "\[(error|crit|alert|emerg)\]" "$dir/error.log" | grep -i upstream; then
  echo "FAIL: nginx logged upstream errors"
  exit 1
fi
n5=$(awk '$9 ~ /^5/' "$dir/access.log" | wc -l)
total=$(wc -l <"$dir/access.log")
reloads=$(grep -c "reconfiguring" "$dir/error.log" || true)
echo "nginx: $total requests logged, $n5 with 5xx, reloads: $reloads"
[ "$n5" = 0 ] && [ "$reloads" -ge 1 ]
echo "ok: behind nginx, zero 5xx and no upstream error across a reload"

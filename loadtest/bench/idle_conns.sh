#!/bin/sh
# Idle keep-alive connections against `hello --shards 1`: RSS per connection and the
# shard's CPU while idle.
#
# usage: loadtest/bench/idle_conns.sh [connections] [idle_seconds] [-- extra hello args]
#   env HELLO (default target/release/examples/hello), PORT (default 18232),
#   MAX_BYTES (exit 1 when RSS per connection is above it, e.g. 1024)
# Build first: cargo build --release --example hello
# Opens N connections, sends one keep-alive GET on each, waits for every response, then
# reads VmRSS and the shard thread's utime+stime (/proc/<pid>/task/<tid>/stat) over the
# idle period (utime+stime ticks, and schedstat run time and voluntary context switches
# for finer figures). keepAliveTimeout is 60 s unless overridden in the extra args.
set -eu
N=${1:-10000}
IDLE=${2:-5}
[ $# -ge 2 ] && shift 2 || shift $#
[ "${1:-}" = "--" ] && shift
HELLO=${HELLO:-target/release/examples/hello}
PORT=${PORT:-18232}
ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt $((N + 100)) ] && {
  echo "ulimit -n $(ulimit -n) is too low for $N connections" >&2; exit 1; }

"$HELLO" --port "$PORT" --shards 1 --keep-alive-timeout-ms 60000 "$@" >/dev/null 2>&1 &
SRV=$!
CLIENT=
cleanup() { [ -n "$CLIENT" ] && kill "$CLIENT" 2>/dev/null; kill "$SRV" 2>/dev/null; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT)).close()" 2>/dev/null; do
  i=$((i + 1)); [ $i -gt 50 ] && { echo "server did not start" >&2; exit 1; }; sleep 0.1
done

rss() { awk '/^VmRSS/ {print $2}' /proc/"$SRV"/status; }
# Thread names are cut to 15 bytes: "ringhttp-shard-" (one shard).
shard_tid() { for t in /proc/"$SRV"/task/*; do
  case "$(cat "$t"/comm)" in ringhttp-shard*) basename "$t";; esac; done; }
ticks() { awk '{print $14 + $15}' /proc/"$SRV"/task/"$1"/stat; }
# Nanoseconds on CPU (finer than the 10 ms ticks) and wake-ups (voluntary switches).
runns() { awk '{print $1}' /proc/"$SRV"/task/"$1"/schedstat 2>/dev/null || echo 0; }
wakeups() { awk '/^voluntary_ctxt_switches/ {print $2}' /proc/"$SRV"/task/"$1"/status; }

sleep 0.3
RSS0=$(rss)
FIFO=$(mktemp -u); mkfifo "$FIFO"
python3 - "$PORT" "$N" >"$FIFO" <<'PY' &
import selectors, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
sel, socks = selectors.DefaultSelector(), []
req = b"GET / HTTP/1.1\r\nHost: idle\r\n\r\n"
# In batches of 256, so the accept backlog is never outrun; every response is awaited.
for first in range(0, n, 256):
    batch = []
    for _ in range(min(256, n - first)):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(req)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
        batch.append(s)
    socks += batch
    waiting, deadline = len(batch), time.time() + 10
    while waiting:
        if time.time() > deadline:
            print(f"error: {waiting} responses missing", flush=True); sys.exit(1)
        for key, _ in sel.select(timeout=1):
            key.data.extend(key.fileobj.recv(4096))
            if key.data.endswith(b"Hello, World!"):
                sel.unregister(key.fileobj); waiting -= 1
print("ready", flush=True)
time.sleep(3600)
PY
CLIENT=$!
read -r STATUS <"$FIFO"; rm -f "$FIFO"
[ "$STATUS" = ready ] || { echo "client: $STATUS" >&2; exit 1; }
sleep 1
RSS1=$(rss)
CONNS=$(ls /proc/"$SRV"/fd | wc -l)
TID=$(shard_tid)
N0=$(runns "$TID"); W0=$(wakeups "$TID")
T0=$(ticks "$TID"); P0=$(awk '{print $14 + $15}' /proc/"$SRV"/stat)
sleep "$IDLE"
N1=$(runns "$TID"); W1=$(wakeups "$TID")
T1=$(ticks "$TID"); P1=$(awk '{print $14 + $15}' /proc/"$SRV"/stat)
HZ=$(getconf CLK_TCK)
echo "connections      $N (server fds open: $CONNS)"
echo "VmRSS before     $RSS0 KiB"
echo "VmRSS after      $RSS1 KiB"
PER=$(awk -v a="$RSS0" -v b="$RSS1" -v n="$N" 'BEGIN {printf "%.0f", (b - a) * 1024 / n}')
echo "RSS/connection   $PER bytes"
FAIL=0
[ -n "${MAX_BYTES:-}" ] && [ "$PER" -gt "$MAX_BYTES" ] && {
  echo "FAIL: $PER bytes per idle connection is above MAX_BYTES=$MAX_BYTES" >&2; FAIL=1; }
awk -v t="$((T1 - T0))" -v p="$((P1 - P0))" -v hz="$HZ" -v s="$IDLE" 'BEGIN {
  printf "shard CPU idle   %d ticks in %ss = %.2f%% of a core (process: %d ticks)\n", t, s, t * 100 / hz / s, p }'
awk -v ns="$((N1 - N0))" -v w="$((W1 - W0))" -v s="$IDLE" 'BEGIN {
  printf "shard on-CPU     %.3f ms in %ss (%.4f%% of a core; schedstat, 0 if not accounted), %d wake-ups\n", ns / 1e6, s, ns / 1e7 / s, w }'
exit "$FAIL"

#!/bin/sh
# CPU time per request of ringload vs wrk against limit_mr, same run.
# Server pinned to CPU 0, load generator pinned to CPU 1, one thread, 64 connections.
# usage: loadtest/bench/cpu_vs_wrk.sh [rounds] [seconds]
set -eu
ROUNDS=${1:-3}
SECS=${2:-3}
RL=${RINGLOAD:-target/release/ringload}
SRV=${SERVER:-/work/peers-target/release/limit_mr}
LUA=/work/shared/bench/pipeline.lua
PORT=${PORT:-18231}
PORT=$PORT taskset -c 0 "$SRV" & SRV_PID=$!
trap 'kill $SRV_PID' EXIT
sleep 0.5
URL=http://127.0.0.1:$PORT/
# prints: tool shape requests user sys us_per_req
measure() { # tool shape cmd...
  tool=$1; shape=$2; shift 2
  out=$(PIPELINE=16 /usr/bin/time -f 'CPU %U %S' nice taskset -c 1 "$@" 2>&1)
  reqs=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
  cpu=$(echo "$out" | sed -n 's/^CPU //p')
  echo "$tool $shape $reqs $cpu" | awk '{printf "%-8s %-7s %9d %6.2f %6.2f %7.3f\n", $1, $2, $3, $4, $5, ($4+$5)*1e6/$3}'
}
for r in $(seq "$ROUNDS"); do
  measure ringload plain  "$RL" -t1 -c64 -d${SECS}s "$URL"
  measure wrk      plain  wrk -t1 -c64 -d${SECS}s "$URL"
  measure ringload pipe16 "$RL" -t1 -c64 -d${SECS}s --pipeline 16 "$URL"
  measure wrk      pipe16 wrk -t1 -c64 -d${SECS}s -s "$LUA" "$URL"
done

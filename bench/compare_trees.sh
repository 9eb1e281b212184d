#!/usr/bin/env bash
# One quick measurement of workload (a) against the `tracesink serve` of another checkout, to find
# which commit moved the single-entry cost: bench/compare_trees.sh TREE (a worktree with its own
# .venv, e.g. `git worktree add /tmp/t COMMIT && (cd /tmp/t && scripts/bootstrap)`). Redis and the
# server pinned as bench/run.py pins them; 3 s warm-up, then 12 s of wrk -c64; prints req/s and
# the server's CPU per request. Run trees alternately and compare within one sitting: it has no
# baseline of its own.
set -e
REPO=$1
RPORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
taskset -c 1 redis-server --port $RPORT --save '' --appendonly no > /dev/null 2>&1 &
RPID=$!
sleep 0.3
cd $REPO
env TRACESINK_GLOBAL_LIMIT=1000000000 TRACESINK_TRACE_LIMIT=1000000000 TRACESINK_SPOOL_DIR=off taskset -c 0 .venv/bin/tracesink serve --port $PORT --store redis://127.0.0.1:$RPORT/0 > /dev/null 2>&1 &
TPID=$!
for i in $(seq 50); do curl -s -o /dev/null localhost:$PORT/health && break; sleep 0.2; done
taskset -c 1 wrk -t1 -c64 -d3s -s /work/main/bench/wrk/log_single.lua http://127.0.0.1:$PORT > /dev/null 2>&1
T0=$(awk '{print $14+$15}' /proc/$TPID/stat)
R=$(taskset -c 1 wrk -t1 -c64 -d12s -s /work/main/bench/wrk/log_single.lua http://127.0.0.1:$PORT | awk '/Requests\/sec/{print $2}')
T1=$(awk '{print $14+$15}' /proc/$TPID/stat)
python3 -c "r=float('$R'); print(f'{\"$REPO\":12s} {r:8.0f} req/s  cpu {($T1-$T0)*10/(r*12)*1000:6.1f} us/req')"
kill $TPID $RPID; wait 2>/dev/null || true

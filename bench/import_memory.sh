#!/bin/sh
# Peak resident memory of a full package import, for docs/performance.md
# ("Import memory"). Makes one application tree with bench/mkpackages
# (SIZE_MB, 1000 by default: 1.33 GB of files), packs it with Info-ZIP
# `zip -r -6`, then for each ferry binary of BINS ("name=path ...", default:
# this tree's), RUNS times, interleaved (a, b, a, b, ...): two fresh servers,
# push on the source, full transfer file, import on the target while its
# resident memory is sampled every 0.2 s; prints the target's VmHWM (peak
# RSS), the Go heap's peak from GODEBUG=gctrace=1, what the peak sample's
# resident memory was (bench/rss_breakdown.py) and the target's CPU time.
# PACKAGE=FILE uses that file instead of making one; SERVER_ENV="K=V ..."
# sets variables in the servers' environment.
#
#	sh bench/import_memory.sh
#	BINS="main=/tmp/ferry-main branch=/tmp/ferry" RUNS=3 sh bench/import_memory.sh
set -eu
cd "$(dirname "$0")/.."
. bench/pair.sh
size_mb=${SIZE_MB:-1000}
runs=${RUNS:-3}
dir=$(mktemp -d "${FERRY_BENCH_TMP:-/tmp}/ferry-mem.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GB RAM", $2/1e6}'), $(go version | cut -d' ' -f3-4)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
bins=${BINS:-}
if [ -z "$bins" ]; then
	go build -o "$dir/ferry" ./cmd/ferry
	bins="this=$dir/ferry"
fi
pkg=${PACKAGE:-}
if [ -z "$pkg" ]; then
	go run ./bench/mkpackages -out "$dir/pk" -mb "$size_mb" >/dev/null
	(cd "$dir/pk/v1" && zip -q -r -6 ../app.zip app)
	rm -rf "$dir/pk/v1" "$dir/pk/v2" "$dir"/pk/blob-*
	pkg=$dir/pk/app.zip
fi
echo "package: $(wc -c <"$pkg") bytes"

# server BIN NAME: starts a server, sets $url and $pid.
server() {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	env GODEBUG=gctrace=1 ${SERVER_ENV:-} "$1" server --data "$dir/$2" --listen "127.0.0.1:$port" --agent-listen "" >>"$dir/$2.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	url="http://127.0.0.1:$port"
	i=0
	until curl -sf "$url/api/health" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { cat "$dir/$2.log"; exit 1; }
		sleep 0.1
	done
}

run() {
	name=$1
	bin=$2
	rm -rf "$dir/a" "$dir/b"
	server "$bin" a
	pidA=$pid
	A="$bin --server $url --api-key $(cat "$dir/a/admin.key")"
	server "$bin" b
	pidB=$pid
	B="$bin --server $url --api-key $(cat "$dir/b/admin.key")"
	connect_pair
	$A --space Source package push "$pkg" --id app --version 1 >/dev/null
	$A --space Source release create Bench --version 1.0.0 --package app:1 >/dev/null
	$A --space Source promote Bench 1.0.0 --to Target --out "$dir/b.bundle" >/dev/null
	$B --space Target bundle import "$dir/b.bundle" >/dev/null
	$A --space Source package export --to Target --full --out "$dir/t.ferry" >/dev/null
	: >"$dir/b.log"
	echo 5 >"/proc/$pidB/clear_refs"
	before=$(awk '/VmRSS/ {print $2}' "/proc/$pidB/status")
	t0=$(date +%s%N)
	$B --space Target package import "$dir/t.ferry" >/dev/null &
	imp=$!
	python3 bench/rss_breakdown.py "$pidB" "$imp" >"$dir/breakdown" &
	brk=$!
	max=0
	while kill -0 "$imp" 2>/dev/null; do
		r=$(awk '/VmRSS/ {print $2}' "/proc/$pidB/status")
		[ "$r" -gt "$max" ] && max=$r
		sleep 0.2
	done
	wait "$imp"
	wait "$brk" || true
	ms=$((($(date +%s%N) - t0) / 1000000))
	hwm=$(awk '/VmHWM/ {print $2}' "/proc/$pidB/status")
	heap=$(awk '/^gc / { split($11, a, "->"); for (i in a) { v = a[i] + 0; if (v > m) m = v } } END { print m + 0 }' "$dir/b.log")
	printf '%-8s import %6d ms  RSS before %5.1f MB  peak RSS (VmHWM) %5.1f MB  sampled %5.1f MB  Go heap peak %s MB  load %s\n' \
		"$name" "$ms" "$(echo "$before" | awk '{print $1/1024}')" "$(echo "$hwm" | awk '{print $1/1024}')" "$(echo "$max" | awk '{print $1/1024}')" "$heap" "$(cut -d' ' -f1 /proc/loadavg)"
	sed "s/^/$name   /" "$dir/breakdown"
	grep '^gc ' "$dir/b.log" | tail -n "${GCTRACE_TAIL:-0}" | sed "s/^/$name   /"
	utime=$(awk '{print ($14 + $15) / 100}' "/proc/$pidB/stat")
	printf '%-8s target server CPU (user+system, whole life) %s s\n' "$name" "$utime"
	kill "$pidA" "$pidB"
	wait "$pidA" "$pidB" 2>/dev/null || true
}

# (round, not i: server's wait loop counts in i, and shell variables are
# global, so RUNS=2 or more used to stop after the first round.)
round=0
while [ "$round" -lt "$runs" ]; do
	for b in $bins; do
		run "${b%%=*}" "${b#*=}"
	done
	round=$((round + 1))
done

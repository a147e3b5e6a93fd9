#!/bin/sh
# Package feed and transfer benchmark, for docs/performance.md.
#
# Builds packages with bench/mkpackages (a realistic application as zip,
# tar.gz by Go's gzip and tar.gz by GNU gzip, and a random blob; version 2
# changes 1% of the content), then, with two real ferry servers:
#   - pushes version 1 in the source space and times it;
#   - carries it to the target with a transfer file; times the import and
#     reads the target server's peak memory during it (VmHWM, reset first);
#   - the target writes an inventory; the source pushes version 2 and writes
#     the next transfer file, which is measured against the package and
#     against `rsync --stats --no-whole-file` of version 2 onto version 1;
# and times chunk+hash (BenchmarkChunkHash) against sha256sum and
# openssl dgst -sha256 on the same files.
#
#	sh bench/packages.sh                      20 MB packages
#	FERRY_BENCH_LARGE=1 sh bench/packages.sh  20 MB and 1 GB packages
set -eu
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

if ! command -v rsync >/dev/null; then
	apt-get update -qq >/dev/null && apt-get install -y -qq rsync >/dev/null
fi
sizes=20
[ "${FERRY_BENCH_LARGE:-}" = 1 ] && sizes="20 1000"

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GB RAM", $2/1e6}'), $(go version | cut -d' ' -f3-4)"
echo "tools: $(sha256sum --version | head -1), $(openssl version | cut -d' ' -f1-2), $(rsync --version | head -1 | cut -d' ' -f1-4), $(gzip --version | head -1)"
go build -o "$dir/ferry" ./cmd/ferry
ferry="$dir/ferry"

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }

# server NAME: starts a server, sets $url and $pid.
server() {
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$ferry" server --data "$dir/$1" --listen "127.0.0.1:$port" >"$dir/$1.log" 2>&1 &
	pid=$!
	pids="$pids $pid"
	url="http://127.0.0.1:$port"
	i=0
	until curl -sf "$url/api/health" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -gt 100 ] && { cat "$dir/$1.log"; exit 1; }
		sleep 0.1
	done
}

# timeit NAME FILE COMMAND...: mean wall time of 3 runs and MB/s of FILE.
timeit() {
	name=$1
	file=$2
	shift 2
	size=$(wc -c <"$file")
	start=$(now)
	for _ in 1 2 3; do "$@" >/dev/null; done
	end=$(now)
	awk -v n="$name" -v ns="$((end - start))" -v b="$size" \
		'BEGIN { ms = ns / 3 / 1e6; printf "  %-36s %8.0f ms  %7.0f MB/s\n", n, ms, b / 1e6 / (ms / 1e3) }'
}

for mb in $sizes; do
	pk="$dir/pk$mb"
	echo
	echo "== ${mb} MB packages"
	go run ./bench/mkpackages -out "$pk" -mb "$mb" 2>&1 | sed 's/^[0-9/: ]*/  /'
	gzip -6 -n -c "$pk/app-1.tar" >"$pk/gnu-1.tar.gz"
	gzip -6 -n -c "$pk/app-2.tar" >"$pk/gnu-2.tar.gz"
	rm -f "$pk/app-1.tar" "$pk/app-2.tar"

	echo "-- chunk+hash (in process, no writes) vs standard tools, same files"
	FERRY_BENCH_PACKAGES=$pk go test -run x -bench ChunkHash -benchtime 3x -benchmem ./bench/ |
		awk '/^Benchmark/ { printf "  %-36s %8.0f ms  %7.0f MB/s  %s %s\n", $1, $3 / 1e6, $5, $7, $8 }'
	for f in app-1.zip blob-1.bin; do
		timeit "sha256sum $f" "$pk/$f" sha256sum "$pk/$f"
		timeit "openssl dgst -sha256 $f" "$pk/$f" openssl dgst -sha256 "$pk/$f"
	done

	server "a$mb"
	A="$ferry --server $url --api-key $(cat "$dir/a$mb/admin.key")"
	pidA=$pid
	server "b$mb"
	B="$ferry --server $url --api-key $(cat "$dir/b$mb/admin.key")"
	pidB=$pid
	$A space create Source >/dev/null
	$B space create Target >/dev/null
	$A space cert Source --out "$dir/source.pem" >/dev/null
	$B space cert Target --out "$dir/target.pem" >/dev/null
	$A --space Source remote-space add Target --cert "$dir/target.pem" --trust promote >/dev/null
	$B --space Target remote-space add Source --cert "$dir/source.pem" --trust releases >/dev/null
	cat >"$dir/a.yaml" <<-YAML
		remoteEnvironments: ["Target: Live"]
		lifecycles: [{name: L, phases: [{name: Live, environments: ["Target: Live"]}]}]
		projects: [{name: Bench, lifecycle: L, process: [{name: S, type: script, script: "true"}]}]
	YAML
	cat >"$dir/b.yaml" <<-YAML
		environments: [{name: Live}]
		lifecycles: [{name: L, phases: [{name: Live, environments: [Live]}]}]
	YAML
	$A --space Source apply -f "$dir/a.yaml" >/dev/null
	$B --space Target apply -f "$dir/b.yaml" >/dev/null

	echo "-- push, transfer, import (servers on loopback; target peak RSS during import)"
	printf '  %-12s %10s %8s %9s %10s %10s %9s %11s %s\n' package size push_ms full_file import_ms import_RSS v2_file "v2/package" "rsync_v2 sent+received"
	for kind in app.zip app.tar.gz gnu.tar.gz blob.bin; do
		base=${kind%%.*}
		ext=${kind#*.}
		[ "$kind" = gnu.tar.gz ] && base=gnu
		id=$(echo "$kind" | tr . -)
		v1="$pk/$base-1.$ext"
		v2="$pk/$base-2.$ext"
		size=$(wc -c <"$v1")

		t0=$(now)
		$A --space Source package push "$v1" --id "$id" --version 1 >/dev/null
		t1=$(now)
		$A --space Source release create Bench --version "$id-1" --package "$id:1" >/dev/null
		$A --space Source promote Bench "$id-1" --to Target --out "$dir/b1.bundle" >/dev/null
		$B --space Target bundle import "$dir/b1.bundle" >/dev/null
		$B --space Target package inventory --out "$dir/inv.json" >/dev/null
		$A --space Source package export --to Target --inventory "$dir/inv.json" --out "$dir/t1.ferry" >/dev/null
		echo 5 >"/proc/$pidB/clear_refs" 2>/dev/null || true
		t2=$(now)
		$B --space Target package import "$dir/t1.ferry" >/dev/null
		t3=$(now)
		rss=$(awk '/VmHWM/ {print $2}' "/proc/$pidB/status")

		$A --space Source package push "$v2" --id "$id" --version 2 >/dev/null
		$A --space Source release create Bench --version "$id-2" --package "$id:2" >/dev/null
		$A --space Source promote Bench "$id-2" --to Target --out "$dir/b2.bundle" >/dev/null
		$B --space Target bundle import "$dir/b2.bundle" >/dev/null
		$B --space Target package inventory --out "$dir/inv.json" >/dev/null
		$A --space Source package export --to Target --inventory "$dir/inv.json" --out "$dir/t2.ferry" >/dev/null
		$B --space Target package import "$dir/t2.ferry" >/dev/null
		$B --space Target package download "$id" 2 --out "$dir/check" >/dev/null
		cmp -s "$dir/check" "$v2" || { echo "version 2 did not arrive byte-identical"; exit 1; }
		t2size=$(wc -c <"$dir/t2.ferry")

		mkdir -p "$dir/rs-src" "$dir/rs-dst"
		cp "$v2" "$dir/rs-src/pkg"
		cp "$v1" "$dir/rs-dst/pkg"
		# -I: compare content even though size and time may match.
		rs=$(rsync -a -I --no-whole-file --stats "$dir/rs-src/" "$dir/rs-dst/" |
			awk -F': ' '/Total bytes sent/ {gsub(",", "", $2); s=$2} /Total bytes received/ {gsub(",", "", $2); r=$2} END {print s "+" r}')
		rm -rf "$dir/rs-src" "$dir/rs-dst"

		printf '  %-12s %10d %8d %9d %10d %7d MB %9d %10.2f%% %s\n' "$kind" "$size" "$(ms "$t0" "$t1")" "$(wc -c <"$dir/t1.ferry")" \
			"$(ms "$t2" "$t3")" $((rss / 1024)) "$t2size" "$(awk -v a="$t2size" -v b="$size" 'BEGIN { print 100 * a / b }')" "$rs"
	done
	$A --space Source package show app-zip 2 | sed 's/^/  /'
	$A --space Source package show gnu-tar-gz 2 | grep stored | sed 's/^/  /'
	echo "  target server data folder: $(du -sm "$dir/b$mb" | cut -f1) MB; source: $(du -sm "$dir/a$mb" | cut -f1) MB"
	kill "$pidA" "$pidB"
	wait "$pidA" "$pidB" 2>/dev/null || true
	rm -rf "$pk"
done

#!/bin/sh
# Runs the release bundle benchmarks and times sha256sum and openssl on the
# same bytes, for docs/performance.md. BenchmarkBundleVerifyPerMB writes the
# 10 MB bundle's payload, signature and signer certificate to a temporary
# folder; then each tool runs RUNS times on that payload.
#
#	sh bench/bundle_baseline.sh        (RUNS=5 by default)
set -eu
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3-4), $(openssl version | cut -d' ' -f1-2)"
FERRY_BENCH_BASELINE_DIR=$dir go test -run x -bench Bundle -benchtime "${runs}x" ./bench/ | grep Benchmark

openssl x509 -in "$dir/signer.pem" -noout -pubkey >"$dir/pub.pem"
openssl dgst -sha256 -verify "$dir/pub.pem" -signature "$dir/payload.sig" "$dir/payload.json" | grep -q 'Verified OK'
payload=$(wc -c <"$dir/payload.json")
bundle=$(wc -c <"$dir/bundle")

# timeit NAME COMMAND...: mean wall time of RUNS runs, MB/s of the payload,
# and mean CPU time (user + system, the child's rusage read by python3),
# which moves far less than wall time on a shared machine.
timeit() {
	name=$1
	shift
	start=$(date +%s%N)
	cpu=0
	i=0
	while [ "$i" -lt "$runs" ]; do
		c=$(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(r.ru_utime + r.ru_stime)' "$@")
		cpu=$(awk -v a="$cpu" -v c="$c" 'BEGIN { print a + c }')
		i=$((i + 1))
	done
	end=$(date +%s%N)
	awk -v n="$name" -v ns="$((end - start))" -v r="$runs" -v b="$payload" -v cpu="$cpu" \
		'BEGIN { ms = ns / r / 1e6; printf "%-32s %8.1f ms/op  %8.1f MB/s of payload  %6.1f cpu-ms/op\n", n, ms, b / 1e6 / (ms / 1e3), cpu / r * 1e3 }'
}
echo "payload: $payload bytes (bundle: $bundle bytes)"
timeit "sha256sum" sha256sum "$dir/payload.json"
timeit "openssl dgst -sha256" openssl dgst -sha256 "$dir/payload.json"
timeit "openssl dgst -sha256 -verify" openssl dgst -sha256 -verify "$dir/pub.pem" -signature "$dir/payload.sig" "$dir/payload.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

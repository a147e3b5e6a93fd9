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
# and mean CPU time (user + system), both of the command's own process as
# python3 starts and reaps it (its start included, python's own not), CPU
# from the child's rusage: it moves far less than wall time on a shared
# machine.
timeit() {
	name=$1
	shift
	python3 -c 'import resource, subprocess, sys, time
name, runs, size, cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
wall = 0.0
for _ in range(runs):
    t = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
    wall += time.perf_counter() - t
r = resource.getrusage(resource.RUSAGE_CHILDREN)
ms = wall / runs * 1e3
print("%-32s %8.1f ms/op  %8.1f MB/s of payload  %6.1f cpu-ms/op" % (name, ms, size / 1e6 / (ms / 1e3), (r.ru_utime + r.ru_stime) / runs * 1e3))' "$name" "$runs" "$payload" "$@"
}
echo "payload: $payload bytes (bundle: $bundle bytes)"
timeit "sha256sum" sha256sum "$dir/payload.json"
timeit "openssl dgst -sha256" openssl dgst -sha256 "$dir/payload.json"
timeit "openssl dgst -sha256 -verify" openssl dgst -sha256 -verify "$dir/pub.pem" -signature "$dir/payload.sig" "$dir/payload.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

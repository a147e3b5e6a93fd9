#!/bin/bash
# Connected promotion over a slow link, for docs/performance.md ("Connected
# promotion"). Two ferry servers, each in a network namespace of its own,
# joined by a link that delays every packet DELAY each way (200 ms round trip
# by default): DevTest Space on A promotes to Prod Space on B over HTTPS with
# pinned, generated certificates. It measures
#
#   - a release bundle delivered (queued → acknowledged) and a deployment
#     receipt coming back, RUNS times each;
#   - a release with a SIZE_MB package: first promotion, then the next
#     version with 1% of the package changed;
#   - curl uploading the same package files over the same link to an HTTPS
#     sink, as the baseline: over HTTP/2 (what curl picks; the sink's Go
#     server has HTTP/2's default 1 MiB receive window) and over HTTP/1.1.
#
# The link is veth + `tc qdisc ... netem delay` when the kernel has netem;
# otherwise a userspace wire (bench/netemtool) that moves packets between two
# TUN devices, delaying each. Needs root (namespaces), go, curl, jq, python3.
# Everything it creates — namespaces ferrybench-{a,b}-PID, their devices,
# processes, a temporary folder — is removed on exit.
#
#	sudo bash bench/netem.sh            (SIZE_MB=200 DELAY=100ms RUNS=5)
set -euo pipefail
cd "$(dirname "$0")/.."
size_mb=${SIZE_MB:-200}
delay=${DELAY:-100ms}
runs=${RUNS:-5}
id=$$
nsa=ferrybench-a-$id
nsb=ferrybench-b-$id
ipa=10.213.0.1
ipb=10.213.0.2
work=$(mktemp -d /tmp/ferry-netem-XXXXXX)
pids=()

cleanup() {
	# start runs in $(...), a subshell: its servers' pids are in files.
	for f in "$work"/*.pid; do
		[ -f "$f" ] && pids+=("$(cat "$f")")
	done
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	# Servers started in a subshell are not this shell's children, so wait
	# cannot wait for them: poll until they are gone (a server still
	# shutting down writes into $work while it is removed).
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
		for _ in $(seq 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
	done
	ip netns del "$nsa" 2>/dev/null || true
	ip netns del "$nsb" 2>/dev/null || true
	ip link del "fbva$id" 2>/dev/null || true
	if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(go version | cut -d' ' -f3-4), kernel $(uname -r)"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
go build -o "$work/ferry" ./cmd/ferry
go build -o "$work/netemtool" ./bench/netemtool

# The link.
ip netns add "$nsa"
ip netns add "$nsb"
ip -n "$nsa" link set lo up
ip -n "$nsb" link set lo up
deva=fbva$id
devb=fbvb$id
link=""
if ip link add "$deva" type veth peer name "$devb" 2>/dev/null; then
	ip link set "$deva" netns "$nsa"
	ip link set "$devb" netns "$nsb"
	if ip netns exec "$nsa" tc qdisc add dev "$deva" root netem delay "$delay" 2>/dev/null &&
		ip netns exec "$nsb" tc qdisc add dev "$devb" root netem delay "$delay" 2>/dev/null; then
		link="veth + tc netem delay $delay each way"
	else
		ip -n "$nsa" link del "$deva"
	fi
fi
if [ -z "$link" ]; then
	deva=fbta$id
	devb=fbtb$id
	"$work/netemtool" wire -a "$deva" -b "$devb" -delay "$delay" >"$work/wire.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do grep -qs ready "$work/wire.log" && break; sleep 0.1; done
	grep -q ready "$work/wire.log" || { cat "$work/wire.log"; exit 1; }
	ip link show "$deva" >/dev/null || { echo "wire:"; cat "$work/wire.log"; ps -p "${pids[-1]}"; ip link; exit 1; }
	ip link set "$deva" netns "$nsa"
	ip link set "$devb" netns "$nsb"
	link="TUN devices joined by bench/netemtool wire, delay $delay each way (this kernel has no sch_netem)"
fi
ip -n "$nsa" addr add "$ipa/30" dev "$deva"
ip -n "$nsb" addr add "$ipb/30" dev "$devb"
ip -n "$nsa" link set "$deva" up
ip -n "$nsb" link set "$devb" up
echo "link: $link"

# The servers.
start() { # NS NAME IP
	ip netns exec "$1" "$work/ferry" server --data "$work/$2" --listen "$3:8443" --tls-generate --log-level "${LOG_LEVEL:-info}" >"$work/$2.log" 2>&1 &
	echo $! >"$work/$2.pid"
	for _ in $(seq 100); do grep -q 'ferry server started' "$work/$2.log" 2>/dev/null && break; sleep 0.1; done
	grep -o '"tls fingerprint"=[0-9A-F:]*' "$work/$2.log" | head -1 | cut -d= -f2
}
fpa=$(start "$nsa" a "$ipa")
fpb=$(start "$nsb" b "$ipb")
ip netns exec "$nsb" "$work/netemtool" sink -listen "$ipb:9443" >"$work/sink.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do grep -q ready "$work/sink.log" && break; sleep 0.1; done

a() { ip netns exec "$nsa" "$work/ferry" --server "https://$ipa:8443" --server-fingerprint "$fpa" --api-key "$(cat "$work/a/admin.key")" --space "DevTest Space" "$@"; }
b() { ip netns exec "$nsb" "$work/ferry" --server "https://$ipb:8443" --server-fingerprint "$fpb" --api-key "$(cat "$work/b/admin.key")" --space "Prod Space" "$@"; }

rtt=$(ip netns exec "$nsa" curl -sk -o /dev/null -w '%{time_connect}' "https://$ipb:9443/" -d x || true)
echo "measured TCP connect (one round trip): ${rtt}s"

a --space Default space create "DevTest Space" >/dev/null
b --space Default space create "Prod Space" >/dev/null
a space cert "DevTest Space" --out "$work/dev.pem" >/dev/null
b space cert "Prod Space" --out "$work/prod.pem" >/dev/null
a remote-space add "Prod Space" --cert "$work/prod.pem" --trust promote,receipts --url "https://$ipb:8443" --tls-fingerprint "$fpb" >/dev/null
b remote-space add "DevTest Space" --cert "$work/dev.pem" --trust releases --url "https://$ipa:8443" --tls-fingerprint "$fpa" >/dev/null
cat >"$work/prod.yaml" <<'YAML'
environments: [{name: Production}]
lifecycles: [{name: Live, phases: [{name: Live, environments: [Production]}]}]
YAML
cat >"$work/dev.yaml" <<YAML
remoteEnvironments: ["Prod Space: Production"]
lifecycles: [{name: Main, phases: [{name: Prod, environments: ["Prod Space: Production"]}]}]
projects:
  - name: Api
    lifecycle: Main
    process: [{name: Say, type: script, script: "echo api"}]
  - name: Shop
    lifecycle: Main
    process: [{name: Web, type: deploy-package, package: shop-web, destination: "$work/deployed"}]
YAML
b apply -f "$work/prod.yaml" >/dev/null
a apply -f "$work/dev.yaml" >/dev/null

# ms FROM TO: milliseconds between two RFC 3339 times.
ms() { python3 -c 'import sys,datetime as d; p=lambda s: d.datetime.fromisoformat(s.replace("Z","+00:00")); print(round((p(sys.argv[2])-p(sys.argv[1])).total_seconds()*1000))' "$1" "$2"; }
# delivered SIDE KIND: waits for the newest delivery of KIND to be delivered and prints "ms result".
delivered() {
	local side=$1 kind=$2 j
	for _ in $(seq 1200); do
		j=$($side remote-space deliveries -o json | jq -c "[.[] | select(.kind == \"$kind\")][0]")
		if [ "$(jq -r .state <<<"$j")" = delivered ]; then
			echo "$(ms "$(jq -r .createdAt <<<"$j")" "$(jq -r .deliveredAt <<<"$j")") $(jq -r .result <<<"$j")"
			return
		fi
		[ "$(jq -r .state <<<"$j")" = failed ] && { echo "failed: $(jq -r .lastError <<<"$j")" >&2; exit 1; }
		sleep 0.1
	done
	echo "timed out waiting for a $kind delivery" >&2
	exit 1
}

echo
echo "== bundle and receipt, $runs runs (the first opens the connections)"
for i in $(seq "$runs"); do
	v=1.0.$i
	a release create Api --version "$v" >/dev/null
	t0=$(date +%s%N)
	a promote Api "$v" --to "Prod Space" --wait >/dev/null
	t1=$(date +%s%N)
	bundle=$(delivered a bundle)
	b deploy "DevTest Space: Api" "$v" --to Production --wait >/dev/null
	receipt=$(delivered b receipts)
	echo "run $i: bundle queued→acknowledged ${bundle%% *} ms (promote --wait $(((t1 - t0) / 1000000)) ms); receipt recorded→acknowledged ${receipt%% *} ms"
done

echo
echo "== package of $size_mb MB: first promotion, then 1% changed"
python3 - "$work" "$size_mb" <<'PY'
import os, sys, zipfile, random
work, mb = sys.argv[1], int(sys.argv[2])
entries = [os.urandom(1 << 20) for _ in range(mb)]
def write(name, parts):
    with zipfile.ZipFile(os.path.join(work, name), "w", zipfile.ZIP_STORED) as z:
        for i, p in enumerate(parts):
            # A fixed time, as a build would stamp: only content differs.
            z.writestr(zipfile.ZipInfo("lib/part%04d.bin" % i, date_time=(2026, 1, 1, 0, 0, 0)), p)
write("v1.zip", entries)
changed = list(entries)
for i in random.Random(1).sample(range(mb), max(1, mb // 100)):
    changed[i] = os.urandom(1 << 20)
write("v2.zip", changed)
PY
for v in 1 2; do
	zip=$work/v$v.zip
	bytes=$(stat -c %s "$zip")
	a package push "$zip" --id shop-web --version "$v.0.0" >/dev/null
	a release create Shop --version "$v.0.0" --package "shop-web:$v.0.0" >/dev/null
	t0=$(date +%s%N)
	a promote Shop "$v.0.0" --to "Prod Space" >/dev/null
	pkg=$(delivered a packages)
	t1=$(date +%s%N)
	echo "v$v.0.0 ($bytes bytes): promote → packages in Prod's feed $(((t1 - t0) / 1000000)) ms; packages delivery ${pkg%% *} ms: ${pkg#* }"
	c=$(ip netns exec "$nsa" curl -sk -o /dev/null -w '%{time_total} %{size_upload}' --data-binary "@$zip" "https://$ipb:9443/")
	echo "v$v.0.0 curl upload of the same file: ${c% *} s for ${c#* } bytes"
	# curl speaks HTTP/2 to the sink, whose Go server keeps the default
	# 1 MiB receive window; over HTTP/1.1 only TCP's window applies.
	c=$(ip netns exec "$nsa" curl -sk --http1.1 -o /dev/null -w '%{time_total} %{size_upload}' --data-binary "@$zip" "https://$ipb:9443/")
	echo "v$v.0.0 curl --http1.1 upload of the same file: ${c% *} s for ${c#* } bytes"
done
b deploy "DevTest Space: Shop" 2.0.0 --to Production --wait >/dev/null
b package download shop-web 2.0.0 --out "$work/copy.zip" >/dev/null
cmp "$work/v2.zip" "$work/copy.zip" && echo "Prod's shop-web 2.0.0 is byte-identical to DevTest's, and deployed"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/bin/sh
# Package feed and transfer benchmark, for docs/performance.md.
#
# Builds, with the real tools, the packages a CI system makes of one
# application (bench/mkpackages writes the tree; about 1,800 files per
# 20 MB): Info-ZIP `zip -r -6`, `jar cf`, GNU `tar`, `tar` + `gzip -6 -n`,
# and a .nupkg (NuGet's layout, written by zlib through python3's zipfile as
# NuGet's own writer does), plus a random blob. Version 2 changes files
# holding 1% of the content AND gives every file a new modification time.
# Then, for each format on its own, with two real ferry servers on loopback:
#   - pushes version 1 in the source space (timed), carries it to the
#     target with a full transfer file and imports it (timed; the target's
#     peak RSS read from VmHWM, reset first);
#   - the target writes an inventory; the source pushes version 2 and
#     exports the next transfer file (timed), which the target imports
#     (timed, peak RSS) and downloads byte-identical;
#   - in the same run, on the same two files: `rsync --no-whole-file`
#     (sent + received), `zstd --patch-from` (default level) and
#     `xdelta3 -e -s` (source window as large as the file).
# And chunk+hash throughput (BenchmarkChunkHash) on version 1 of each.
#
# Needs: go, zip, jar (default-jdk-headless), tar, gzip, python3, rsync,
# zstd, xdelta3, curl. Missing Debian packages are installed with apt-get.
#
#	sh bench/packages.sh                      20 MB packages (about 5 minutes)
#	FERRY_BENCH_SIZES="20 1000" sh bench/packages.sh   and 1 GB (about an hour, 40 GB of disk)
#	FERRY_BENCH_FORMATS="zip tar.gz" ...                 only those formats
set -eu
cd "$(dirname "$0")/.."
. bench/pair.sh
dir=$(mktemp -d "${FERRY_BENCH_TMP:-/tmp}/ferry-bench.XXXXXX")
pids=""
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	rm -rf "$dir"
}
trap cleanup EXIT

need=""
for t in zip:zip jar:default-jdk-headless rsync:rsync zstd:zstd xdelta3:xdelta3 python3:python3 curl:curl; do
	command -v "${t%%:*}" >/dev/null || need="$need ${t#*:}"
done
if [ -n "$need" ]; then
	apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $need >/dev/null
fi
sizes=${FERRY_BENCH_SIZES:-20}

echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), $(grep MemTotal /proc/meminfo | awk '{printf "%.0f GB RAM", $2/1e6}'), $(go version | cut -d' ' -f3-4)"
echo "tools: $(zip -v | sed -n 2p | cut -d, -f1 | sed 's/^This is //'), jar $(jar --version 2>&1 | cut -d' ' -f2), $(tar --version | head -1), $(gzip --version | head -1), $(rsync --version | head -1 | cut -d' ' -f1-4), $(zstd --version | cut -d, -f1 | sed 's/\*//g'), $(xdelta3 -V 2>&1 | head -1 | cut -d, -f1)"
echo "commit: $(git rev-parse --short HEAD)"
go build -o "$dir/ferry" ./cmd/ferry
ferry="$dir/ferry"

now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f%%", 100 * a / b }'; }

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

# pack DIR V: the archives of DIR/vV/app, made by the real tools.
pack() {
	d=$1
	v=$2
	(cd "$d/v$v" && zip -q -r -6 "../app-$v.zip" app)
	(cd "$d/v$v" && jar cf "../app-$v.jar" app)
	(cd "$d/v$v" && tar -cf "../app-$v.tar" app)
	gzip -6 -n -c "$d/app-$v.tar" >"$d/app-$v.tar.gz"
	python3 - "$d/v$v/app" "$d/app-$v.nupkg" "$v" <<-'PY'
		import os, sys, zipfile, uuid, random, time
		src, out, v = sys.argv[1], sys.argv[2], sys.argv[3]
		random.seed(1000 + int(v))
		guid = uuid.UUID(int=random.getrandbits(128)).hex  # NuGet names the .psmdcp by a new GUID per pack
		t = os.stat(src).st_mtime
		with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
		    def add(name, data, mtime):
		        zi = zipfile.ZipInfo(name, time.gmtime(mtime)[:6])
		        zi.compress_type = zipfile.ZIP_DEFLATED
		        z.writestr(zi, data)
		    add("_rels/.rels", '<?xml version="1.0" encoding="utf-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Type="http://schemas.microsoft.com/packaging/2010/07/manifest" Target="/Shop.Web.nuspec" Id="R%s" /></Relationships>' % guid[:16], t)
		    add("Shop.Web.nuspec", '<?xml version="1.0" encoding="utf-8"?><package xmlns="http://schemas.microsoft.com/packaging/2013/05/nuspec.xsd"><metadata><id>Shop.Web</id><version>1.0.%s</version><authors>ci</authors><description>Shop web application</description></metadata></package>' % v, t)
		    for root, dirs, files in os.walk(src):
		        dirs.sort()
		        for f in sorted(files):
		            p = os.path.join(root, f)
		            with open(p, "rb") as fh:
		                add("content/" + os.path.relpath(p, src), fh.read(), os.stat(p).st_mtime)
		    add("[Content_Types].xml", '<?xml version="1.0" encoding="utf-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml" /><Default Extension="nuspec" ContentType="application/octet" /><Default Extension="psmdcp" ContentType="application/vnd.openxmlformats-package.core-properties+xml" /></Types>', t)
		    add("package/services/metadata/core-properties/%s.psmdcp" % guid, '<?xml version="1.0" encoding="utf-8"?><coreProperties><creator>ci</creator><identifier>Shop.Web</identifier><version>1.0.%s</version></coreProperties>' % v, t)
	PY
}

for mb in $sizes; do
	pk="$dir/pk$mb"
	echo
	echo "== ${mb} MB packages"
	go run ./bench/mkpackages -out "$pk" -mb "$mb" 2>&1 | sed 's/^[0-9/: ]*/  /'
	t0=$(now)
	pack "$pk" 1
	pack "$pk" 2
	rm -rf "$pk/v1" "$pk/v2"
	echo "  packed with the real tools in $(ms "$t0" "$(now)") ms"

	echo "-- chunk+hash (push's work once the file is on disk, in process, no writes)"
	FERRY_BENCH_PACKAGES=$pk go test -run x -bench ChunkHash -benchtime 3x -benchmem ./bench/ |
		awk '/^Benchmark/ { printf "  %-36s %8.0f ms  %7.0f MB/s\n", $1, $3 / 1e6, $5 }'

	server "a$mb"
	A="$ferry --server $url --api-key $(cat "$dir/a$mb/admin.key")"
	server "b$mb"
	B="$ferry --server $url --api-key $(cat "$dir/b$mb/admin.key")"
	pidB=$pid
	connect_pair

	echo "-- version 2 (1% changed, every entry re-timestamped): bytes carried, same files, same run"
	printf '  %-11s %11s %12s %9s %12s %9s %12s %9s %12s %9s\n' format "v2 size" ferry "" "rsync s+r" "" "zstd-patch" "" xdelta3 ""
	for kind in ${FERRY_BENCH_FORMATS:-zip jar nupkg tar tar.gz bin}; do
		base=app
		[ "$kind" = bin ] && base=blob
		id=pkg-$(echo "$kind" | tr . -)
		v1="$pk/$base-1.$kind"
		v2="$pk/$base-2.$kind"
		size1=$(wc -c <"$v1")
		size=$(wc -c <"$v2")

		t0=$(now)
		$A --space Source package push "$v1" --id "$id" --version 1 >/dev/null
		push=$(ms "$t0" "$(now)")
		$A --space Source release create Bench --version "$id-1" --package "$id:1" >/dev/null
		$A --space Source promote Bench "$id-1" --to Target --out "$dir/b1.bundle" >/dev/null
		$B --space Target bundle import "$dir/b1.bundle" >/dev/null
		$B --space Target package inventory --out "$dir/inv.json" >/dev/null
		$A --space Source package export --to Target --inventory "$dir/inv.json" --out "$dir/t1.ferry" >/dev/null
		echo 5 >"/proc/$pidB/clear_refs" 2>/dev/null || true
		t0=$(now)
		$B --space Target package import "$dir/t1.ferry" >/dev/null
		import1=$(ms "$t0" "$(now)")
		rss1=$(awk '/VmHWM/ {print $2}' "/proc/$pidB/status")

		$A --space Source package push "$v2" --id "$id" --version 2 >/dev/null
		$A --space Source release create Bench --version "$id-2" --package "$id:2" >/dev/null
		$A --space Source promote Bench "$id-2" --to Target --out "$dir/b2.bundle" >/dev/null
		$B --space Target bundle import "$dir/b2.bundle" >/dev/null
		$B --space Target package inventory --out "$dir/inv.json" >/dev/null
		t0=$(now)
		$A --space Source package export --to Target --inventory "$dir/inv.json" --out "$dir/t2.ferry" >/dev/null
		export2=$(ms "$t0" "$(now)")
		echo 5 >"/proc/$pidB/clear_refs" 2>/dev/null || true
		t0=$(now)
		$B --space Target package import "$dir/t2.ferry" >/dev/null
		import2=$(ms "$t0" "$(now)")
		rss2=$(awk '/VmHWM/ {print $2}' "/proc/$pidB/status")
		$B --space Target package download "$id" 2 --out "$dir/check" >/dev/null
		cmp -s "$dir/check" "$v2" || { echo "version 2 of $kind did not arrive byte-identical"; exit 1; }
		rm -f "$dir/check"
		fsize=$(wc -c <"$dir/t2.ferry")

		mkdir -p "$dir/rs-src" "$dir/rs-dst"
		cp "$v2" "$dir/rs-src/pkg"
		cp "$v1" "$dir/rs-dst/pkg"
		# -I: compare content even though size and time may match.
		rs=$(rsync -a -I --no-whole-file --stats "$dir/rs-src/" "$dir/rs-dst/" |
			awk -F': ' '/Total bytes sent/ {gsub(",", "", $2); s=$2} /Total bytes received/ {gsub(",", "", $2); r=$2} END {print s + r}')
		rm -rf "$dir/rs-src" "$dir/rs-dst"
		zs=$(zstd -q -c --patch-from="$v1" "$v2" 2>/dev/null | wc -c)
		xdelta3 -q -e -f -B "$(((size1 / 1048576 + 2) * 1048576))" -s "$v1" "$v2" "$dir/x.vcdiff"
		xd=$(wc -c <"$dir/x.vcdiff")
		rm -f "$dir/x.vcdiff"

		printf '  %-11s %11d %12d %9s %12d %9s %12d %9s %12d %9s\n' "$kind" "$size" "$fsize" "$(pct "$fsize" "$size")" \
			"$rs" "$(pct "$rs" "$size")" "$zs" "$(pct "$zs" "$size")" "$xd" "$(pct "$xd" "$size")"
		echo "$kind push_v1_ms=$push import_full_ms=$import1 import_full_rss_mb=$((rss1 / 1024)) export_v2_ms=$export2 import_v2_ms=$import2 import_v2_rss_mb=$((rss2 / 1024))" >>"$dir/times"
	done
	echo "-- times (ms) and the target server's peak RSS during each import (MB)"
	sed 's/^/  /' "$dir/times"
	rm -f "$dir/times"
	echo "  target server data folder: $(du -sm "$dir/b$mb" | cut -f1) MB; source: $(du -sm "$dir/a$mb" | cut -f1) MB"
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pids=""
	rm -rf "$pk" "$dir/a$mb" "$dir/b$mb"
done

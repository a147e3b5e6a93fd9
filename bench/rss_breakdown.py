#!/usr/bin/env python3
"""Samples a process's resident memory every 0.2 s until it exits or the
file named by --until disappears, and prints the breakdown of the sample
with the most resident memory (kB from /proc/PID/smaps): the executable's
own pages, the Go heap (anonymous mappings below 0x7f0000000000: Go
places its arenas there, at a random base since Go 1.26), other anonymous
memory (mappings from 0x7f0000000000 up: C allocations such as glibc's,
thread stacks), and other files (shared libraries; SQLite reads its file,
it does not map it). Also prints, second by second, the largest sample, to
show when the peak happens. For docs/performance.md, "Import memory".

    python3 bench/rss_breakdown.py PID WHILE_PID
"""
import os
import sys
import time


def sample(pid):
    parts = {"executable": 0, "go heap": 0, "other anonymous": 0, "stacks": 0, "other files": 0}
    exe = os.readlink(f"/proc/{pid}/exe")
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            fields = line.split()
            if "-" in fields[0] and len(fields) >= 5 and not fields[0].endswith(":"):
                start = int(fields[0].split("-")[0], 16)
                path = fields[5] if len(fields) > 5 else ""
                if path == exe:
                    name = "executable"
                elif path.startswith("[stack"):
                    name = "stacks"
                elif path and not path.startswith("["):
                    name = "other files"
                elif start < 0x7F0000000000:
                    name = "go heap"
                else:
                    name = "other anonymous"
            elif fields[0] == "Rss:":
                parts[name] += int(fields[1])
    return parts


def main():
    pid, while_pid = sys.argv[1], int(sys.argv[2])
    best = None
    t0 = time.time()
    seconds = {}
    while True:
        try:
            os.kill(while_pid, 0)
        except ProcessLookupError:
            break
        try:
            s = sample(pid)
        except (FileNotFoundError, ProcessLookupError):
            break
        sec = int(time.time() - t0)
        seconds[sec] = max(seconds.get(sec, 0), sum(s.values()))
        if best is None or sum(s.values()) > sum(best.values()):
            best, at = s, time.time() - t0
        time.sleep(0.2)
    if best:
        print("peak sample %.1f MB at %.1f s of %.1f s: " % (sum(best.values()) / 1024, at, time.time() - t0) +
              ", ".join("%s %.1f" % (k, v / 1024) for k, v in best.items()))
        print("MB by second: " + " ".join("%.0f" % (seconds[k] / 1024) for k in sorted(seconds)))


main()

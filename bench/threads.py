#!/usr/bin/env python3
"""Per-thread CPU and context switches of one process over an interval.

  bench/threads.py PID SECONDS [LABEL]

Reads /proc/PID/task/*/{comm,stat,status} at the start and the end of the
interval and prints, per thread name (threads of one name summed), the CPU
it used (ms per second of the interval) and its voluntary and involuntary
context switches per second. Threads that came or went in between count
from the sample they appear in. Used by bench/run.sh at mid-ramp and
mid-hold of the top level to name the threads that share the servers'
core.
"""
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def sample(pid):
    out = {}
    base = f"/proc/{pid}/task"
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"{base}/{tid}/comm") as f:
                comm = f.read().strip()
            with open(f"{base}/{tid}/stat") as f:
                stat = f.read()
            # Fields after the ")" that closes comm: utime is the 12th, stime
            # the 13th of them (fields 14 and 15 of proc(5)).
            rest = stat[stat.rindex(")") + 2:].split()
            cpu = int(rest[11]) + int(rest[12])
            vol = invol = 0
            with open(f"{base}/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches:"):
                        vol = int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches:"):
                        invol = int(line.split()[1])
            out[tid] = (comm, cpu, vol, invol)
        except (OSError, ValueError, IndexError):
            continue  # the thread ended while we read it
    return out


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    pid, secs = sys.argv[1], float(sys.argv[2])
    label = sys.argv[3] if len(sys.argv) > 3 else pid
    a = sample(pid)
    t0 = time.monotonic()
    time.sleep(secs)
    b = sample(pid)
    dt = time.monotonic() - t0
    rows = {}
    for tid, (comm, cpu, vol, invol) in b.items():
        _, cpu0, vol0, invol0 = a.get(tid, (comm, 0, 0, 0))
        r = rows.setdefault(comm, [0, 0, 0, 0])
        r[0] += 1
        r[1] += cpu - cpu0
        r[2] += vol - vol0
        r[3] += invol - invol0
    print(f"\n### threads of {label} over {dt:.1f} s\n")
    print("| thread | count | CPU ms/s | voluntary cs/s | involuntary cs/s |")
    print("|---|---|---|---|---|")
    for comm, (n, cpu, vol, invol) in sorted(
            rows.items(), key=lambda kv: -kv[1][1]):
        print(f"| {comm} | {n} | {cpu * 1000 / TICK / dt:.1f} "
              f"| {vol / dt:.0f} | {invol / dt:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

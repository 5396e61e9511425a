"""Split `perf record -a -g` samples (`perf script -F comm,ip,sym` on stdin) by process and, for the
StreamViz server, by whose code each sample runs: the first frame from the leaf up that belongs to a
known package decides (StreamViz's gateway, nats-server with JetStream, nats.go, gorilla/websocket),
so runtime and kernel frames (memmove, a write(2), a page fault) count for the package that called
them; the Go runtime's own goroutines (GC marking, sweeping, scheduling) are their own rows. The
viewer and Python rows are whole processes (perf sees no Python frames on 3.11). Used by
bench/sendmany_ceiling.sh to say how much of the CPU a send_many row costs is StreamViz's own code.
"""

import collections
import json
import sys

OWNERS = [
    ("github.com/streamviz/", "streamviz (gateway)"),
    ("nats-server", "nats-server (client I/O, routing, JetStream but its file store)"),
    ("highwayhash", "JetStream file store"),
    ("nats%2ego", "nats.go"),
    ("gorilla/websocket", "gorilla/websocket"),
]
RUNTIME = [
    ("gcBgMarkWorker", "Go runtime: GC"),
    ("gcDrain", "Go runtime: GC"),
    ("bgscavenge", "Go runtime: GC"),
    ("bgsweep", "Go runtime: GC"),
    ("schedule", "Go runtime: scheduler"),
    ("findRunnable", "Go runtime: scheduler"),
    ("sysmon", "Go runtime: scheduler"),
]
FILESTORE = ("fileStore", "msgBlock")


def owner(frames: list[str]) -> str:
    for f in frames:
        for key, name in OWNERS:
            if key in f:
                if name.startswith("nats-server") and any(k in s for s in frames for k in FILESTORE):
                    return "JetStream file store"
                return name
    joined = " ".join(frames)
    return next((name for key, name in RUNTIME if key in joined), "other")


def main() -> None:
    procs: collections.Counter[str] = collections.Counter()
    server: collections.Counter[str] = collections.Counter()
    block: list[str] = []

    def flush() -> None:
        if not block:
            return
        comm = block[0].strip()
        procs[comm] += 1
        if comm == "streamviz":
            server[owner([ln.strip().split(" ", 1)[-1] for ln in block[1:]])] += 1

    for line in sys.stdin:
        if not line.strip():
            flush()
            block.clear()
        elif not line.startswith("\t"):
            flush()
            block[:] = [line]
        else:
            block.append(line)
    flush()
    total = sum(procs.values())
    s = procs["streamviz"] or 1
    out = {
        "samples": total,
        "share_of_all_samples": {k: round(v / total, 4) for k, v in procs.most_common(8)},
        "server_samples_by_owner": {k: round(v / s, 4) for k, v in server.most_common()},
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()

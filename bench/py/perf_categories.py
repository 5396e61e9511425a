"""Sum `perf script` samples of the StreamViz server by where they are (stdin → table).

Each sample goes to the first category its stack matches: the socket writer's write(2) and the
writer's own code around it, the pacer, the bus (nats-server, nats.go), the rest of the gateway
(ingest, apply), and the Go runtime's GC, sysmon and scheduler. Under the write(2) the kernel's
share is split by what it does (copy, transmit, the loopback receive path, waking the reader).
Used by bench/fanout_perfstat.sh with RECORD=1.
"""

import collections
import re
import sys

FRAME = re.compile(r"^\s*[0-9a-f]+ (.*?)(\+0x[0-9a-f]+)? \(")


def first_match(stack: str, table: list[tuple[str, str]], default: str) -> str:
    """The name of the first (key, name) whose key is in stack, else default."""
    return next((name for key, name in table if key in stack), default)


def category(stack: str) -> str:
    if "gateway.(*client).write" in stack:
        return "ws write syscall" if "syscall.write" in stack else "ws writer user"
    return first_match(stack, [
        ("(*fanout).pace", "pacer"),
        ("(*hub).pace", "pacer"),
        ("nats-server", "nats-server"),
        ("nats%2ego", "nats.go client"),
        ("streamviz/gateway", "gateway other (ingest/apply)"),
        ("runtime.gcBgMarkWorker", "GC"),
        ("runtime.bgsweep", "GC"),
        ("runtime.sysmon", "sysmon"),
        ("runtime.mcall", "scheduler"),
        ("runtime.schedule", "scheduler"),
    ], "other")


def kernel_part(stack: str) -> str:
    return first_match(stack, [
        ("try_to_wake_up", "wakeup reader"),
        ("sock_def_readable", "wakeup reader"),
        ("tcp_v4_rcv", "rx path (softirq)"),
        ("net_rx_action", "rx path (softirq)"),
        ("_copy_from_iter", "copy"),
        ("tcp_write_xmit", "xmit"),
        ("tcp_sendmsg", "sendmsg other"),
        ("entry_SYSCALL", "syscall other"),
    ], "user side of syscall")


def main() -> None:
    cats: collections.Counter[str] = collections.Counter()
    kern: collections.Counter[str] = collections.Counter()
    total = 0
    for sample in sys.stdin.read().split("\n\n"):
        lines = sample.strip().split("\n")
        if len(lines) < 2:
            continue
        frames = [m.group(1) for m in map(FRAME.match, lines[1:]) if m]
        stack = " ".join(frames)
        total += 1
        c = category(stack)
        cats[c] += 1
        if c == "ws write syscall":
            kern[kernel_part(stack)] += 1
    print(f"samples {total}")
    for name, n in sorted(cats.items()):
        print(f"   {name:30} {n:6} {100 * n / max(total, 1):5.1f}%")
    print(f"under the socket writer's write(2): {cats['ws write syscall']}")
    for name, n in kern.most_common():
        print(f"   {name:30} {n:6}")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""The disk's floor for an acknowledged write: how long one small write and its fdatasync
take, in a loop, on a preallocated file (as nacosd's raft log segments are), with nothing
else running. A publish cannot be answered faster than this; benchmark runs print it so a
latency target can be compared with the disk it ran on.

    scripts/fsync-floor.py [seconds] [directory]    (defaults: 10 s, the system temp dir)

Prints one line: count, p50, p99, p99.9 and worst, in milliseconds.
"""
import os
import sys
import tempfile
import time

SIZE = 64 << 20
RECORD = b"x" * 512


def main() -> None:
    seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    directory = sys.argv[2] if len(sys.argv) > 2 else tempfile.gettempdir()
    fd, path = tempfile.mkstemp(prefix="fsync-floor-", dir=directory)
    try:
        zeros = b"\0" * (1 << 20)
        for _ in range(SIZE >> 20):
            os.write(fd, zeros)
        os.fsync(fd)
        offset, latencies = 0, []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            os.pwrite(fd, RECORD, offset)
            offset = (offset + len(RECORD)) % SIZE
            started = time.perf_counter()
            os.fdatasync(fd)
            latencies.append((time.perf_counter() - started) * 1000)
    finally:
        os.close(fd)
        os.unlink(path)
    latencies.sort()
    n = len(latencies)
    pick = lambda q: latencies[min(n - 1, int(n * q))]
    print(f"fdatasync floor in {directory}: n={n} p50={pick(0.5):.2f} p99={pick(0.99):.2f} "
          f"p99.9={pick(0.999):.2f} worst={latencies[-1]:.2f} ms")


if __name__ == "__main__":
    main()

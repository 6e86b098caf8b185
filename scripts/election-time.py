#!/usr/bin/env python3
"""Election time after kill -9 of the leader, on a local 3-node cluster (loopback only).

    NACOSD_BIN=target/release/nacosd scripts/election-time.py [ROUNDS]

Each round kills the leader with SIGKILL, polls the survivors' /nacos/v1/core/cluster/self
every 10 ms until one says it leads, and prints the time from the kill; the killed node is
then restarted on its data and the next round waits until all three serve again. Ports sit
below the kernel's ephemeral range (21000+), so a killed node's port stays free.
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

BIN = os.environ.get("NACOSD_BIN", "target/release/nacosd")
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 5
BASE = int(os.environ.get("ELECTION_BASE_PORT", "21000"))
NODES = 3


def http_port(i):
    return BASE + 10 * (i - 1)


def members():
    return ",".join(f"{i}=127.0.0.1:{http_port(i) + 1001}" for i in range(1, NODES + 1))


def start(i, root):
    data = os.path.join(root, f"node{i}")
    log = open(os.path.join(root, f"node{i}.log"), "ab")
    args = [BIN, "--bind", "127.0.0.1", "--http-port", str(http_port(i)), "--data-dir", data,
            "--node-id", str(i), "--members", members(), "--advertise-addr", f"127.0.0.1:{http_port(i) + 1001}"]
    return subprocess.Popen(args, stdout=log, stderr=log)


def role(i):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{http_port(i)}/nacos/v1/core/cluster/self", timeout=0.5) as answer:
            body = json.load(answer)
        return (body.get("data") or body).get("raftRole")
    except Exception:
        return None


def wait(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.01)
    raise SystemExit(f"election-time: {what} not reached in {seconds} s")


def main():
    root = tempfile.mkdtemp(prefix="nacosd-election-")
    procs = {i: start(i, root) for i in range(1, NODES + 1)}
    times = []
    try:
        for round_no in range(1, ROUNDS + 1):
            leader = wait(lambda: next((i for i in procs if role(i) == "leader"), None), 60, "a leader")
            wait(lambda: all(role(i) in ("leader", "follower") for i in procs), 60, "three serving members")
            time.sleep(1.0)  # steady heartbeats before the kill
            killed_at = time.monotonic()
            procs[leader].send_signal(signal.SIGKILL)
            procs[leader].wait()
            survivors = [i for i in procs if i != leader]
            wait(lambda: any(role(i) == "leader" for i in survivors), 30, "a new leader")
            elapsed = (time.monotonic() - killed_at) * 1000
            times.append(elapsed)
            print(f"round {round_no}: leader {leader} killed, new leader in {elapsed:.0f} ms", flush=True)
            procs[leader] = start(leader, root)
        print(f"election after kill -9: {', '.join(f'{t:.0f}' for t in times)} ms; "
              f"median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()

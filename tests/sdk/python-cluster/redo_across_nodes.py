"""The Python 3.x SDK (gRPC) against a three-node cluster: a registrar whose node is
killed (-9) reconnects to another node and registers again, and a subscriber on a third
node never loses the instance nor receives an empty list.

Run by scripts/sdk-cluster-redo.sh, which starts the cluster (scripts/cluster.sh) and
passes its layout in the environment: CLUSTER_DIR, CLUSTER_BASE_PORT.
"""
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CLUSTER_DIR = os.environ["CLUSTER_DIR"]
BASE = int(os.environ["CLUSTER_BASE_PORT"])
SERVICE = "py-redo-orders"
IP, PORT = "127.0.0.221", 8080
# Distro's lease on a dead node's copies (domain::naming::distro::LEASE_MS), and a margin.
LEASE_S = 60
WATCH_S = LEASE_S + 5


def http_addr(node):
    return "127.0.0.1:%d" % (BASE + 10 * (node - 1))


def pid(node):
    with open(os.path.join(CLUSTER_DIR, "node%d.pid" % node)) as f:
        return int(f.read().strip())


def hosts(node):
    """The instances `node` lists for the service over HTTP, or None if it does not answer."""
    url = "http://%s/nacos/v1/ns/instance/list?serviceName=%s" % (http_addr(node), SERVICE)
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            body = json.load(response)
    except Exception:
        return None
    return sorted("%s:%d" % (h["ip"], h["port"]) for h in body.get("hosts", []))


def wait_for(predicate, within, what):
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("FAIL: timed out waiting for " + what)
        time.sleep(0.05)


def stop(node, sig):
    os.kill(pid(node), sig)
    wait_for(lambda: not alive(node), 10, "node %d to exit" % node)


def alive(node):
    try:
        os.kill(pid(node), 0)
        return True
    except OSError:
        return False


def cluster_up():
    subprocess.run([os.path.join(ROOT, "scripts", "cluster.sh"), "up", "3"], check=True, stdout=subprocess.DEVNULL)


async def naming(nodes, scratch, tag):
    import logging
    from v2.nacos import ClientConfigBuilder, NacosNamingService
    config = (ClientConfigBuilder()
              .server_address(",".join(http_addr(n) for n in nodes))
              .log_level(getattr(logging, os.environ.get("SDK_LOG_LEVEL", "WARNING")))
              .log_dir(os.path.join(scratch, "logs-" + tag))
              .cache_dir(os.path.join(scratch, "cache-" + tag))
              .build())
    # Without this the SDK ignores pushes with an empty list, which this test must see.
    config.set_update_cache_when_empty(True)
    return await NacosNamingService.create_naming_service(config)


async def main():
    from v2.nacos import RegisterInstanceParam, SubscribeServiceParam
    a, b, c = 1, 2, 3
    scratch = tempfile.mkdtemp(prefix="nacosd-py-redo-")
    # B down: the registrar, given A and B, can only connect to A.
    stop(b, signal.SIGTERM)
    pushes = []

    async def on_push(instances):
        pushes.append(sorted("%s:%d" % (i.ip, i.port) for i in instances))

    subscriber = await naming([c], scratch, "subscriber")
    await subscriber.subscribe(SubscribeServiceParam(service_name=SERVICE, subscribe_callback=on_push))
    registrar = await naming([a, b], scratch, "registrar")
    ok = await registrar.register_instance(RegisterInstanceParam(service_name=SERVICE, ip=IP, port=PORT))
    if ok is not True:
        raise SystemExit("FAIL: register_instance answered %r" % ok)
    want = ["%s:%d" % (IP, PORT)]
    wait_for(lambda: hosts(c) == want, 5, "C to list the instance")

    # B comes back (it loads the registry before it serves); A dies with the connection.
    await asyncio.to_thread(cluster_up)
    stop(a, signal.SIGKILL)
    killed = time.monotonic()
    while time.monotonic() - killed < WATCH_S:
        seen = hosts(c)
        if seen != want:
            raise SystemExit("FAIL: %.1fs after A was killed C lists %r" % (time.monotonic() - killed, seen))
        await asyncio.sleep(0.2)
    if hosts(b) != want:
        raise SystemExit("FAIL: B lists %r after A's copies expired: the registrar did not register again" % hosts(b))
    live = pushes[next((i for i, p in enumerate(pushes) if p), len(pushes)):]
    if not live:
        raise SystemExit("FAIL: the subscriber never heard of the instance: %r" % pushes)
    if any(not p for p in live):
        raise SystemExit("FAIL: a push was empty while the instance was live: %r" % pushes)
    print("ok: the registrar moved to B, C kept the instance for %ds, %d pushes, none empty" % (WATCH_S, len(pushes)))
    for service in (registrar, subscriber):
        try:
            await asyncio.wait_for(service.shutdown(), 5)
        except Exception:
            pass


if __name__ == "__main__":
    asyncio.run(main())
    sys.exit(0)

"""Starts one nacosd for the session: a fresh data dir, free ports, the binary from
NACOSD_BIN (default target/debug/nacosd)."""
import os
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _pick_port():
    for port in range(41000, 48000, 7):
        if _free(port) and _free(port + 1000) and _free(port + 1001):
            return port
    raise RuntimeError("no free port triple")


# Auth-on servers: a 32-byte token secret (base64) and the first administrator's password.
TOKEN_SECRET = "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="
ADMIN_PASSWORD = "Adm1n-pw"


def _start(extra_args):
    binary = os.environ.get("NACOSD_BIN", os.path.join(ROOT, "target", "debug", "nacosd"))
    port = _pick_port()
    data = tempfile.mkdtemp(prefix="nacosd-pysdk-")
    log = open(os.path.join(data, "server.log"), "w")
    proc = subprocess.Popen([binary, "--http-port", str(port), "--bind", "127.0.0.1", "--data-dir",
                             os.path.join(data, "data")] + extra_args, stdout=log, stderr=subprocess.STDOUT)
    url = "http://127.0.0.1:%d" % port
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/nacos/v1/console/health/readiness", timeout=1).read()
            break
        except Exception:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("nacosd did not start; see %s" % log.name)
            time.sleep(0.1)
    return proc, "127.0.0.1:%d" % port


@pytest.fixture(scope="session")
def server():
    proc, addr = _start([])
    yield addr
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="session")
def auth_server():
    """A server with auth on, whose administrator is `nacos` / ADMIN_PASSWORD."""
    proc, addr = _start(["--auth-enabled", "--auth-token-secret", TOKEN_SECRET,
                         "--auth-admin-password", ADMIN_PASSWORD])
    yield addr
    proc.terminate()
    proc.wait(10)


def wait_until(check, timeout, what):
    """Polls `check` until it is truthy; fails the test after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.time() > deadline:
            pytest.fail("%s: not within %ss" % (what, timeout))
        time.sleep(0.05)

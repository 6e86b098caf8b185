"""nacos-sdk-python 3.x (the gRPC client) against nacosd with auth on: it logs in with its
user name and password and carries the token on its gRPC config requests; with a wrong
password it writes nothing. Run by scripts/sdk-tests.sh with the shared conformance
suite's virtualenv (which holds this SDK):
    python grpc_client_auth.py /path/to/nacosd
"""
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

SECRET = "U2VjcmV0S2V5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI="
ADMIN_PASSWORD = "Adm1n-pw"


def free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def start(binary, scratch):
    port = next(p for p in range(55100, 60000, 11) if free(p) and free(p + 1000) and free(p + 1001))
    log = open(os.path.join(scratch, "server.log"), "w")
    proc = subprocess.Popen([binary, "--http-port", str(port), "--bind", "127.0.0.1",
                             "--data-dir", os.path.join(scratch, "data"), "--auth-enabled",
                             "--auth-token-secret", SECRET, "--auth-admin-password", ADMIN_PASSWORD],
                            stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/nacos/v1/console/health/readiness" % port, timeout=1)
            return proc, port
        except Exception:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("nacosd did not start; see %s" % log.name)
            time.sleep(0.1)


def http_get(port, path, **params):
    login = urllib.request.urlopen(urllib.request.Request(
        "http://127.0.0.1:%d/nacos/v1/auth/login" % port, method="POST",
        data=urllib.parse.urlencode({"username": "nacos", "password": ADMIN_PASSWORD}).encode()))
    params["accessToken"] = json.loads(login.read())["accessToken"]
    try:
        return urllib.request.urlopen("http://127.0.0.1:%d%s?%s" % (port, path, urllib.parse.urlencode(params))).read()
    except urllib.error.HTTPError as err:
        return err.code


async def main(binary):
    from v2.nacos import ClientConfigBuilder, ConfigParam, NacosConfigService
    scratch = tempfile.mkdtemp(prefix="nacosd-py3-auth-")
    proc, port = start(binary, scratch)
    try:
        def config(password, tag):
            return (ClientConfigBuilder().server_address("127.0.0.1:%d" % port).username("nacos")
                    .password(password).log_dir(os.path.join(scratch, "logs"))
                    .cache_dir(os.path.join(scratch, "cache-" + tag)).build())

        data_id = "py3-auth-" + uuid.uuid4().hex[:8]
        client = await NacosConfigService.create_config_service(config(ADMIN_PASSWORD, "cfg"))
        assert await client.publish_config(ConfigParam(data_id=data_id, group="DEFAULT_GROUP", content="a=1"))
        assert await client.get_config(ConfigParam(data_id=data_id, group="DEFAULT_GROUP")) == "a=1"
        print("right password: publish and read over gRPC")

        refused = "py3-auth-refused-" + uuid.uuid4().hex[:8]
        try:
            wrong = await NacosConfigService.create_config_service(config("wrong", "wrong"))
            published = await wrong.publish_config(ConfigParam(data_id=refused, group="DEFAULT_GROUP", content="x"))
        except Exception as exc:
            print("wrong password refused: %s" % str(exc)[:120])
            published = False
        assert not published, "a wrong password published"
        assert http_get(port, "/nacos/v1/cs/configs", dataId=refused, group="DEFAULT_GROUP") == 404
        print("wrong password: nothing written")
        await client.shutdown()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    asyncio.run(main(os.path.abspath(sys.argv[1])))
    print("python 3.x SDK with auth: ok")

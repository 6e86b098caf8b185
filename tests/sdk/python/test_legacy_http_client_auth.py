"""The legacy HTTP client of nacos-sdk-python (2.x line) against nacosd with auth on: it logs
in with its user name and password (`/nacos/v1/auth/login`) and carries the token; with a
wrong password it gets nothing and writes nothing."""
import uuid

import nacos

from conftest import ADMIN_PASSWORD, wait_until

GROUP = "DEFAULT_GROUP"


def uniq(tag):
    return "%s-%s" % (tag, uuid.uuid4().hex[:8])


def admin(server):
    # The administrator is made at start-up, through raft: wait until it logs in.
    def logged_in():
        try:
            c = nacos.NacosClient(server, username="nacos", password=ADMIN_PASSWORD)
            c.get_config("probe", GROUP, no_snapshot=True)
            return c
        except Exception:
            return None
    return wait_until(logged_in, 10, "the administrator logs in")


def test_configs_and_instances_with_the_right_password(auth_server):
    c = admin(auth_server)
    data_id = uniq("py-auth")
    assert c.publish_config(data_id, GROUP, "a=1") is True
    assert c.get_config(data_id, GROUP, no_snapshot=True) == "a=1"
    service = uniq("py-auth-svc")
    assert c.add_naming_instance(service, "127.23.0.101", 8080) is True
    assert [h["ip"] for h in c.list_naming_instance(service)["hosts"]] == ["127.23.0.101"]
    assert c.remove_naming_instance(service, "127.23.0.101", 8080) is True


def test_a_wrong_password_reads_and_writes_nothing(auth_server):
    c = admin(auth_server)
    data_id = uniq("py-auth-wrong")
    assert c.publish_config(data_id, GROUP, "kept") is True
    # The client logs in as it is made: with a wrong password that already fails.
    try:
        wrong = nacos.NacosClient(auth_server, username="nacos", password="wrong")
    except Exception:
        wrong = None
    if wrong is not None:
        try:
            published = wrong.publish_config(data_id, GROUP, "overwritten")
        except Exception:
            published = False
        assert not published
        try:
            read = wrong.get_config(data_id, GROUP, no_snapshot=True)
        except Exception:
            read = None
        assert read is None
    assert c.get_config(data_id, GROUP, no_snapshot=True) == "kept"

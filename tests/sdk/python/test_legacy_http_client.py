"""The legacy HTTP client of nacos-sdk-python (2.x line, `nacos.NacosClient`) against nacosd:
config get/publish/remove/watch over the v1 API and long polling; naming register, list,
beat, modify, subscribe (polling) and deregister."""
import uuid

import nacos
from nacos.listener import SubscribeListener

from conftest import wait_until

GROUP = "DEFAULT_GROUP"


def uniq(tag):
    return "%s-%s" % (tag, uuid.uuid4().hex[:8])


def client(server, namespace=""):
    return nacos.NacosClient(server, namespace=namespace)


def test_config_publish_get_remove(server):
    c = client(server)
    data_id = uniq("py-legacy") + ".properties"
    assert c.get_config(data_id, GROUP, no_snapshot=True) is None
    assert c.publish_config(data_id, GROUP, "a=1\nunicode=值✓", config_type="properties") is True
    assert c.get_config(data_id, GROUP, no_snapshot=True) == "a=1\nunicode=值✓"
    assert c.remove_config(data_id, GROUP) is True
    assert c.get_config(data_id, GROUP, no_snapshot=True) is None


def test_config_watcher_fires_on_publish(server):
    c = client(server)
    data_id = uniq("py-watch")
    c.publish_config(data_id, GROUP, "v1")
    seen = []

    def watcher(event):
        seen.append(event.get("content"))

    c.add_config_watcher(data_id, GROUP, watcher)
    other = client(server)
    # The watcher's first long poll may still be registering: keep publishing new values
    # until one is delivered.
    def delivered():
        other.publish_config(data_id, GROUP, "v2")
        return "v2" in seen
    wait_until(delivered, 10, "watcher notified of v2")
    c.remove_config_watcher(data_id, GROUP, watcher)


def test_namespaces_isolate_configs(server):
    data_id = uniq("py-ns")
    dev, public = client(server, "dev"), client(server)
    dev.publish_config(data_id, GROUP, "dev")
    assert public.get_config(data_id, GROUP, no_snapshot=True) is None
    assert dev.get_config(data_id, GROUP, no_snapshot=True) == "dev"


def test_naming_register_list_modify_deregister(server):
    # Cluster names are passed explicitly: without one, this client registers into a cluster
    # literally named "None" (it url-encodes Python's None), as it does against Java Nacos.
    c = client(server)
    service = uniq("py-svc")
    assert c.add_naming_instance(service, "127.20.0.101", 8080, cluster_name="DEFAULT", metadata={"zone": "z1"}) is True
    assert c.add_naming_instance(service, "127.20.0.102", 8080, cluster_name="blue", weight=2.0) is True
    listed = c.list_naming_instance(service)
    assert listed["name"] == "DEFAULT_GROUP@@" + service
    assert sorted(h["ip"] for h in listed["hosts"]) == ["127.20.0.101", "127.20.0.102"]
    blue = c.list_naming_instance(service, clusters="blue")
    assert [h["ip"] for h in blue["hosts"]] == ["127.20.0.102"]
    one = c.get_naming_instance(service, "127.20.0.101", 8080, cluster_name="DEFAULT")
    assert one["metadata"] == {"zone": "z1"}
    assert c.modify_naming_instance(service, "127.20.0.101", 8080, cluster_name="DEFAULT", weight=3.0) is True
    assert c.get_naming_instance(service, "127.20.0.101", 8080)["weight"] == 3.0
    assert c.remove_naming_instance(service, "127.20.0.101", 8080, cluster_name="DEFAULT") is True
    assert [h["ip"] for h in c.list_naming_instance(service)["hosts"]] == ["127.20.0.102"]


def test_naming_heartbeats(server):
    c = client(server)
    service = uniq("py-beat")
    reply = c.send_heartbeat(service, "127.21.0.101", 9000)
    assert reply["code"] == 10200, "a full beat for an unknown instance registers it"
    assert [h["ip"] for h in c.list_naming_instance(service)["hosts"]] == ["127.21.0.101"]
    assert c.send_heartbeat(service, "127.21.0.101", 9000)["clientBeatInterval"] == 5000


def test_naming_subscribe_sees_new_instances(server):
    c = client(server)
    service = uniq("py-sub")
    c.add_naming_instance(service, "127.22.0.101", 1)
    events = []
    listener = SubscribeListener(lambda event, instance: events.append((event, instance.instance["ip"])), "test")
    c.subscribe([listener], 1, service_name=service)
    other = client(server)
    other.add_naming_instance(service, "127.22.0.102", 2)
    wait_until(lambda: any(ip == "127.22.0.102" for _, ip in events), 10, "subscriber saw the new instance")
    c.unsubscribe(service)
    c.stop_subscribe()

"""Watch: the event stream kubernetes.core and kubectl wait on."""

from __future__ import annotations

import threading

from kubernetes import client, watch

from localcluster import resources


def test_watch_streams_added_modified_deleted_from_a_resource_version(localcluster):
    core = client.CoreV1Api(localcluster.api_client())
    start = core.list_namespaced_config_map("default").metadata.resource_version

    def writer():
        core.create_namespaced_config_map("default", {"metadata": {"name": "watched"}, "data": {"a": "1"}})
        core.patch_namespaced_config_map("watched", "default", {"data": {"a": "2"}})
        core.delete_namespaced_config_map("watched", "default")

    threading.Timer(0.2, writer).start()
    seen = []
    for event in watch.Watch().stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=5):
        if event["object"].metadata.name == "watched":
            seen.append(event["type"])
        if len(seen) == 3:
            break
    assert seen == ["ADDED", "MODIFIED", "DELETED"]


def test_watch_without_resource_version_starts_with_current_objects(localcluster):
    core = client.CoreV1Api(localcluster.api_client())
    core.create_namespaced_config_map("default", {"metadata": {"name": "preexisting", "labels": {"w": "1"}}})
    events = list(watch.Watch().stream(core.list_namespaced_config_map, "default", label_selector="w=1", timeout_seconds=1))
    assert [(e["type"], e["object"].metadata.name) for e in events] == [("ADDED", "preexisting")]


def test_watch_from_an_expired_resource_version_is_410(localcluster):
    store = localcluster.cluster.store
    for i in range(5100):
        store.create(resources.storage_key("", "configmaps"), {"metadata": {"name": f"churn-{i}", "namespace": "default"}}, False)
    code, body, _unused = localcluster.http("GET", "/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=2&timeoutSeconds=1")
    # As the watch cache does: the stream opens (200) and carries one ERROR event with the 410 Status.
    assert code == 200 and body["type"] == "ERROR"
    assert body["object"]["code"] == 410 and body["object"]["reason"] == "Expired"
    assert body["object"]["message"].startswith("too old resource version: 2 (")

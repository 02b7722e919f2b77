"""Comparing desired with observed: only our fields, quantities by value."""

from __future__ import annotations

from kserve_controller import diff


def test_server_defaults_do_not_count() -> None:
    desired = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}}
    observed = {
        "spec": {
            "replicas": 3,
            "template": {
                "spec": {
                    "dnsPolicy": "ClusterFirst",
                    "containers": [{"name": "c", "image": "i", "imagePullPolicy": "IfNotPresent"}],
                }
            },
        }
    }
    assert diff.matches(desired, observed)


def test_changed_field_is_named() -> None:
    desired = {"spec": {"containers": [{"args": ["a", "b"]}]}}
    observed = {"spec": {"containers": [{"args": ["a", "c"]}]}}
    assert diff.differences(desired, observed) == ["spec.containers[0].args[1]"]


def test_list_length_change_is_a_difference() -> None:
    assert diff.differences({"a": [1, 2]}, {"a": [1]}) == ["a"]


def test_quantities_compare_by_value() -> None:
    assert diff.matches({"cpu": "1000m", "memory": "1024Mi"}, {"cpu": "1", "memory": "1Gi"})
    assert not diff.matches({"cpu": "500m"}, {"cpu": "1"})
    assert not diff.matches({"image": "a:1"}, {"image": "a:2"})


def test_empty_desired_matches_missing() -> None:
    assert diff.matches({"emptyDir": {}, "env": []}, {})
    assert not diff.matches({"env": [{"name": "X"}]}, {})

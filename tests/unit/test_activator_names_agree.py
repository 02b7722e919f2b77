"""The controller writes the activator's Services; the activator reads them. The two packages
never import each other, so this test keeps their names one list."""

from __future__ import annotations

from kserve_controller.build import activator as controller
from kserve_server.activator import routes as activator


def test_label_and_annotations_are_the_same_names() -> None:
    assert controller.LABEL == activator.LABEL
    assert controller.TARGET_ANNOTATION == activator.TARGET_ANNOTATION
    assert controller.HOSTS_ANNOTATION == activator.HOSTS_ANNOTATION
    assert controller.VALUE_LOCATION == "concurrency"  # the key of the activator's /load answer

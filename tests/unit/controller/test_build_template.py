"""Runtime placeholders: the Go-template subset upstream's runtimes use."""

from __future__ import annotations

import pytest

from kserve_controller.build import template
from kserve_controller.errors import InvalidSpec

DATA = {"Name": "iris", "Namespace": "ml", "Labels": {"modelClass": "x.Y"}, "Annotations": {}}


def test_fields_with_and_without_spaces() -> None:
    got = template.render(
        ["--n={{.Name}}", "{{ .Namespace }}", "{{.Labels.modelClass}}", "{{.Annotations.a}}"],
        data=DATA,
    )
    assert got == ["--n=iris", "ml", "x.Y", "<no value>"]


def test_unknown_placeholder_is_an_invalid_spec() -> None:
    with pytest.raises(InvalidSpec, match=r"unsupported placeholder \{\{.Spec.Foo\}\}"):
        template.render({"args": ["{{.Spec.Foo}}"]}, data=DATA)

"""`kserve-activator` outside a pod says so and exits 2."""

from __future__ import annotations

import pytest

from kserve_server.activator import __main__ as activator_main


def test_outside_a_pod_it_names_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert activator_main.main(["--hold-timeout", "5"]) == 2
    assert "KUBERNETES_SERVICE_HOST unset" in capsys.readouterr().err


def test_flags_have_the_charts_defaults() -> None:
    args = activator_main.parser().parse_args([])
    assert (args.port, args.admin_port, args.hold_timeout) == (8080, 9091, 60.0)

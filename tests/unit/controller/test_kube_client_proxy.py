"""The apiserver's proxy is read from the environment once, when the client connects (not by
aiohttp on every request): HTTPS_PROXY for an https apiserver, unless NO_PROXY names it."""

from __future__ import annotations

import pytest

from kserve_controller.kube import client


@pytest.fixture(autouse=True)
def no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_https_proxy_is_used_for_the_apiserver(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    assert client._environment_proxy("https://10.96.0.1:443") == "http://proxy.corp:3128"


def test_no_proxy_or_no_variable_means_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    assert client._environment_proxy("https://10.96.0.1:443") is None
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "10.96.0.1,.svc")
    assert client._environment_proxy("https://10.96.0.1:443") is None
    assert client._environment_proxy(None) is None

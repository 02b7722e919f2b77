"""Both charts installed on the session's real kube-apiserver, in the tutorial's order."""

from __future__ import annotations

from collections.abc import Iterator

import kubeapi
import pytest
from charts_kube import Installed, install_both


@pytest.fixture(scope="session")
def charts(apiserver: kubeapi.ApiServer) -> Iterator[Installed]:
    installed = Installed(client=apiserver.client, kubeconfig=apiserver.kubeconfig)
    install_both(installed)
    yield installed

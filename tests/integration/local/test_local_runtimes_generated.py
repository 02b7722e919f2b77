"""kserve-local's runtimes are the chart's: the shipped file is what `helm template` renders
with default values now (after changing the chart's runtimes, run `make generate`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from kserve_local import generate, runtimes


def test_the_shipped_runtimes_match_the_chart(capsys: pytest.CaptureFixture[str]) -> None:
    status = generate.main(["--check"])
    assert status == 0, capsys.readouterr()


@pytest.mark.parametrize(
    "edit",
    [
        lambda text: text.replace("--framework=xgboost", "--framework=sklearn"),
        lambda text: text.split("---\n")[0],  # a runtime the chart has, missing here
    ],
)
def test_the_check_fails_on_a_stale_file(
    edit: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    stale = tmp_path / runtimes.DATA
    stale.write_text(edit(generate.OUTPUT.read_text()))
    monkeypatch.setattr(generate, "OUTPUT", stale)
    assert generate.main(["--check"]) == 1
    out = capsys.readouterr().out
    assert f"{stale} is stale versus charts/kserve: run `make generate`" in out


def test_a_chart_with_the_runtimes_turned_off_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "kserve"
    shutil.copytree(generate.CHART, chart)
    values = chart / "values.yaml"
    on = "# Install the default ClusterServingRuntimes below.\n    enabled: true"
    assert on in values.read_text()
    values.write_text(values.read_text().replace(on, on.replace("true", "false")))
    monkeypatch.setattr(generate, "CHART", chart)
    assert generate.main(["--check"]) == 2
    assert "renders no ClusterServingRuntime" in capsys.readouterr().err

"""kserve-local's runtimes are the chart's: the shipped file is what `helm template` renders
with default values now (after changing the chart's runtimes, run `make generate`)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from codegen import GenerateError, cli
from codegen import runtimes as generate
from kserve_local import runtimes


def test_the_shipped_runtimes_match_the_chart(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["--check", "runtimes"])
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
    assert cli.main(["--check", "runtimes"]) == 1
    captured = capsys.readouterr()
    assert f"generate runtimes: stale {stale}" in captured.out
    assert "run `make generate`" in captured.err


def test_a_chart_with_the_runtimes_turned_off_is_refused(tmp_path: Path) -> None:
    chart = tmp_path / "kserve"
    shutil.copytree(generate.CHART, chart)
    values = chart / "values.yaml"
    on = "# Install the default ClusterServingRuntimes below.\n    enabled: true"
    assert on in values.read_text()
    values.write_text(values.read_text().replace(on, on.replace("true", "false")))
    with pytest.raises(GenerateError, match="renders no ClusterServingRuntime"):
        generate.render(chart)

"""Versions of everything a run used: each venv's packages, wrk, the repo's commit."""

import argparse
import json
import pathlib
import platform
import subprocess

PACKAGES = {
    "ours": [
        "kserve-py-server",
        "aiohttp",
        "numpy",
        "scikit-learn",
        "joblib",
        "pydantic",
        "orjson",
        "uvloop",
    ],
    "kserve": [
        "kserve",
        "fastapi",
        "uvicorn",
        "starlette",
        "uvloop",
        "orjson",
        "numpy",
        "scikit-learn",
    ],
    "mlserver": [
        "mlserver",
        "mlserver-sklearn",
        "fastapi",
        "uvicorn",
        "uvloop",
        "orjson",
        "numpy",
        "scikit-learn",
    ],
}
_SNIPPET = """
import importlib.metadata as m, json, platform, sys
out = {"python": platform.python_version()}
for d in sys.argv[1:]:
    try:
        out[d] = m.version(d)
    except m.PackageNotFoundError:
        pass
print(json.dumps(out))
"""


def collect(args: argparse.Namespace, *, repo: pathlib.Path) -> dict[str, str]:
    pythons = {
        "ours": args.our_python,
        "kserve": f"{args.kserve_venv}/bin/python",
        "mlserver": f"{args.mlserver_venv}/bin/python",
    }
    found: dict[str, str] = {}
    for name, python in pythons.items():
        out = subprocess.run(
            [python, "-c", _SNIPPET, *PACKAGES[name]], capture_output=True, text=True, check=False
        ).stdout
        for pkg, version in (json.loads(out) if out else {}).items():
            found[f"{name}: {pkg}"] = version
    found["harness: python"] = platform.python_version()
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    found["wrk"] = (wrk.stdout + wrk.stderr).split("[")[0].strip()
    commit = subprocess.run(
        ["git", "-C", str(repo), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    found["repo commit"] = commit or "unknown"
    found["kernel"] = platform.release()
    return found


def cpu_model() -> str:
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"

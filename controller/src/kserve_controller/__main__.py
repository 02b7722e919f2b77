"""`kserve-controller`: read settings, set up logging, run the manager."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time

from kserve_controller import __version__, manager
from kserve_controller.settings import ControllerSettings


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)-5s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)  # libraries: warnings only
    logging.getLogger("kserve_controller").setLevel(level)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="kserve-controller",
        description="Turns InferenceServices into Deployments, Services, HPAs and Ingresses. "
        "Configured by environment variables (KSERVE_CONTROLLER_*, POD_NAMESPACE, KUBECONFIG).",
    )
    parser.add_argument("--version", action="version", version=f"kserve-controller {__version__}")
    parser.parse_args(argv)
    settings = ControllerSettings()
    configure_logging(settings.log_level)
    sys.exit(asyncio.run(manager.main(settings)))


if __name__ == "__main__":
    main()

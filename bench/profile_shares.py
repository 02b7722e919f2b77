"""Where the time went in a py-spy raw profile: shares of the groups that matter for a server."""

import collections
import pathlib
import sys

GROUPS = {
    "sklearn SVC.predict (all)": ("BaseSVC.predict",),
    "  its input validation (_validate_for_predict)": ("_validate_for_predict",),
    "  its libsvm compute (_dense_predict)": ("_dense_predict",),
    "aiohttp response write (finish_response)": ("finish_response",),
    "aiohttp request read/parse": ("data_received", "BaseRequest.read"),
    "kserve_server.protocol (decode/encode)": ("kserve_server/protocol",),
    "kserve_server.runtimes.inputs": ("runtimes/inputs.py",),
    "kserve_server.dataplane._elements": ("_elements (",),
    "pydantic": ("pydantic/",),
    "prometheus_client (metrics)": ("prometheus_client",),
    "logging": ("logging/",),
}


def main() -> None:
    total = 0
    counts: collections.Counter[str] = collections.Counter()
    for line in pathlib.Path(sys.argv[1]).read_text().splitlines():
        stack, n = line.rsplit(" ", 1)
        total += int(n)
        for group, needles in GROUPS.items():
            if any(needle in stack for needle in needles):
                counts[group] += int(n)
    print(f"{sys.argv[1]}: {total} samples")
    for group in GROUPS:
        print(f"{100 * counts[group] / max(total, 1):5.1f}%  {group}")


if __name__ == "__main__":
    main()

"""Where the time went in a py-spy raw profile: shares of the groups that matter for a server,
then the functions with the most samples of their own and our functions with the most samples
in all (themselves and what they call; `--top N`, default 15)."""

import argparse
import collections
import pathlib
import re

GROUPS = {
    "sklearn SVC.predict (all)": ("BaseSVC.predict",),
    "  its input validation (_validate_for_predict)": ("_validate_for_predict",),
    "  its libsvm compute (_dense_predict)": ("_dense_predict",),
    "onnxruntime InferenceSession.run": ("InferenceSession.run", "Session.run"),
    "aiohttp response write (finish_response)": ("finish_response",),
    "aiohttp request read/parse": ("data_received", "BaseRequest.read"),
    "kserve_server.protocol (decode/encode)": ("kserve_server/protocol",),
    "kserve_server.dataplane": ("kserve_server/dataplane.py",),
    "kserve_server.runtimes": ("kserve_server/runtimes",),
    "kserve_server.runtimes.inputs": ("runtimes/inputs.py",),
    "kserve_server.dataplane._elements": ("_elements (",),
    "pydantic": ("pydantic/",),
    "prometheus_client (metrics)": ("prometheus_client",),
    "logging": ("logging/",),
}
_FILE_LINE = re.compile(r":\d+\)$")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("profile", type=pathlib.Path)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    total = 0
    counts: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    ours: collections.Counter[str] = collections.Counter()
    for line in args.profile.read_text().splitlines():
        stack, n = line.rsplit(" ", 1)
        total += int(n)
        for group, needles in GROUPS.items():
            if any(needle in stack for needle in needles):
                counts[group] += int(n)
        frames = [_FILE_LINE.sub(")", frame) for frame in stack.split(";")]  # lines folded
        own[frames[-1]] += int(n)
        for frame in set(frames):
            if "kserve_server/" in frame:
                ours[frame] += int(n)
    print(f"{args.profile}: {total} samples")
    for group in GROUPS:
        print(f"{100 * counts[group] / max(total, 1):5.1f}%  {group}")
    print(f"functions with the most samples of their own (top {args.top}):")
    for function, n in own.most_common(args.top):
        print(f"{100 * n / max(total, 1):5.1f}%  {function}")
    print(f"our functions with the most samples in all (top {args.top}):")
    for function, n in ours.most_common(args.top):
        print(f"{100 * n / max(total, 1):5.1f}%  {function}")


if __name__ == "__main__":
    main()

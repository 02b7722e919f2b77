"""The LLM cell's ceiling: transformers' own `generate` in a bare loop, no server, on the model
ours serves. Prints `ready` once the model is loaded (start→ready), then for each stream count
runs that many generations at once (one thread each, as many callers would), greedy, and prints
one JSON line: per round, each stream's start, first token and end (perf_counter seconds) and
its token count. torch's intra-op threads are ours (`--threads`, as our `--nthread`). Run with
the torch venv's python."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from typing import Any


class FirstToken:
    """A generate() streamer: put() gets the prompt first, then each new token."""

    def __init__(self) -> None:
        self.calls = 0
        self.first: float | None = None

    def put(self, _value: Any) -> None:
        self.calls += 1
        if self.calls == 2 and self.first is None:
            self.first = time.perf_counter()

    def end(self) -> None:
        pass


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model_dir", required=True)
    p.add_argument("--prompt", required=True)
    p.add_argument("--tokens", type=int, required=True)
    p.add_argument("--streams", default="1,8")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads (as ours)")
    args = p.parse_args()
    import torch
    import transformers

    torch.set_num_threads(args.threads)

    tokenizer = transformers.AutoTokenizer.from_pretrained(args.model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model_dir).eval()
    print("ready", flush=True)
    ids = torch.tensor([tokenizer(args.prompt)["input_ids"]])
    mask = torch.ones_like(ids)

    def one(out: dict[str, float]) -> None:
        streamer = FirstToken()
        out["start"] = time.perf_counter()
        with torch.inference_mode():
            done = model.generate(
                ids,
                attention_mask=mask,
                max_new_tokens=args.tokens,
                do_sample=False,
                streamer=streamer,
                pad_token_id=tokenizer.eos_token_id,
            )
        out["end"] = time.perf_counter()
        out["first"] = streamer.first or out["end"]
        new = done[0, ids.shape[1] :].tolist()
        eos = tokenizer.eos_token_id
        out["tokens"] = new.index(eos) if eos in new else len(new)

    results: dict[str, list[list[dict[str, float]]]] = {}
    one({})  # warm-up, as the server's first request warms it
    for streams in [int(s) for s in args.streams.split(",")]:
        rounds = []
        for _ in range(args.rounds):
            outs: list[dict[str, float]] = [{} for _ in range(streams)]
            threads = [threading.Thread(target=one, args=(o,)) for o in outs]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            rounds.append(outs)
        results[str(streams)] = rounds
    json.dump(results, sys.stdout)
    print(flush=True)


if __name__ == "__main__":
    main()

"""The Stage-I discriminator's accuracy on its augmented training batches, by windows of steps, from training
histories: how far it overfits with and without the LeCam term. Writes JSON to stdout.

python results/cub50/stage1_lecam/discriminator_accuracy.py --window 59751 60000 \
    plain=~/runs/cub50_s1_1500ep_intel/stage1_history.jsonl \
    0.03=~/runs/s15/pilot_0.03/stage1_history.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from stackgan_hf.training.trainer import read_history

KEYS = ("d_acc_real", "d_acc_fake", "d_acc_mismatched", "d_loss", "g_loss")


def window_means(history: list[dict], first: int, last: int) -> dict | None:
    """Each of KEYS averaged over the steps first..last (inclusive) of a history; None if it has none of them
    (a run stopped before)."""
    rows = [record for record in history if first <= record["step"] <= last]
    if not rows:
        return None
    means = {key: round(sum(r[key] for r in rows) / len(rows), 4) for key in KEYS}
    return {"steps": [first, last], "count": len(rows), **means}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", help="name=path of a stage1_history.jsonl")
    parser.add_argument(
        "--window", nargs=2, type=int, action="append", required=True, metavar=("FIRST", "LAST")
    )
    args = parser.parse_args()
    out = {}
    for spec in args.runs:
        name, _, path = spec.partition("=")
        history = read_history(Path(path).expanduser())
        out[name] = [window_means(history, first, last) for first, last in args.window]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

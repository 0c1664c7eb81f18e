"""Rewrites a committed two-stage pipeline's model card with the current card code, its summaries' configs
moved to the current option names (renamed keys follow; retired ones, all off in these runs, are dropped).

    python results/recard.py results/cub50/pipeline
"""

import dataclasses
import json
import sys
from pathlib import Path

from stackgan_hf.training.config import StackGANTrainingConfig
from stackgan_hf.training.trainer import _write_card
from stackgan_hf.utils.config import config_from_dict

RENAMED = {
    "colour_negatives": "color_negatives",
    "stage2_low_res_consistency": "low_res_consistency_coefficient",
}
FIELDS = {f.name for f in dataclasses.fields(StackGANTrainingConfig)}


def migrate(config: dict) -> dict:
    config = {RENAMED.get(k, k): v for k, v in config.items()}
    return {k: v for k, v in config.items() if k in FIELDS}


run_dir = Path(sys.argv[1])
for name in ("stage1_summary.json", "stage2_summary.json"):
    path = run_dir / name
    summary = json.loads(path.read_text())
    summary["config"] = migrate(summary["config"])
    summary["config"]["output_dir"] = str(run_dir)
    path.write_text(json.dumps(summary, indent=2) + "\n")
stage2 = json.loads((run_dir / "stage2_summary.json").read_text())
stage1 = json.loads((run_dir / "stage1_summary.json").read_text())
config = config_from_dict(StackGANTrainingConfig, stage2["config"], "stage2_summary")
_write_card(run_dir, config, 2, stage2, stage1)
print("card written", run_dir)

"""Trains StackGAN (Stage-I, Stage-II or both) with accelerate.

    accelerate launch scripts/train_stackgan.py [--config FILE.yaml] [--key value ...]

With no arguments: the offline quickstart (synthetic birds, bag-of-words text encoder, Stage-I then
Stage-II) writing a StackGANPipeline to outputs/quickstart. Every key of
stackgan_hf.training.StackGANTrainingConfig is a flag; flags override the YAML file. Bad input and faults
the user can act on (a config key, missing data, a corrupt checkpoint, a full disk, a diverged loss) end
with one `error: ...` line and exit code 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from stackgan_hf.training import StackGANTrainingConfig, train
from stackgan_hf.training.config import STAGE2_OF_BOTH
from stackgan_hf.utils.cli import run_script
from stackgan_hf.utils.config import ConfigError, parse_config

QUICKSTART = Path(__file__).resolve().parents[1] / "configs" / "stackgan" / "quickstart.yaml"


def main(argv=None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not any(arg == "--config" or arg.startswith("--config=") for arg in argv):
        argv = ["--config", str(QUICKSTART), *argv]
    config = parse_config(StackGANTrainingConfig, argv, description=__doc__)
    given = [name for name in STAGE2_OF_BOTH if any(a.split("=")[0] == f"--{name}" for a in argv)]
    if given and config.stage != "both":  # from a YAML file, train() warns instead
        raise ConfigError(
            f"--{given[0]} applies to --stage both only; with --stage {config.stage} set "
            f"--{given[0].removeprefix('stage2_')} instead."
        )
    output = train(config)
    print("\nDone. Generate birds with:")
    print(f'  python scripts/generate.py --model {output} --prompt "a bird with a red crown" --num_images 4')


if __name__ == "__main__":
    run_script(main)

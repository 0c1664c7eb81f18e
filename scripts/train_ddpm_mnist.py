"""Train a DDPM (Ho et al. 2020) on MNIST with diffusers' UNet2DModel + DDPMScheduler.

    python scripts/train_ddpm_mnist.py [--config configs/ddpm/mnist.yaml] [--key value ...]
    accelerate launch scripts/train_ddpm_mnist.py --config configs/ddpm/mnist.yaml

Every field of `diffusion.train.DDPMTrainingConfig` is a flag (`--help` lists them); flags override the YAML
file. Examples: `--dataset_dir ../shared/data/mnist` (local parquet copy instead of `ylecun/mnist`),
`--max_train_steps 20000`, `--mixed_precision bf16`, `--resume_from_checkpoint latest`,
`--push_to_hub true --hub_model_id you/ddpm-mnist`. The output directory is a `DDPMPipeline`; with
`--class_conditional true` (a named option, `configs/ddpm/mnist_cpu_cfg.yaml`) a class-conditional DDPM with
classifier-free guidance, saved as `diffusion.pipeline.ClassConditionalDDPMPipeline`. An output directory
that holds another run is refused unless the run resumes it (`--resume_from_checkpoint latest`) or replaces
it (`--overwrite_output_dir true`). Bad input and faults the user can act on (an option out of range, a
config key, missing data, a corrupt checkpoint, a NaN loss, a full disk) end with one `error: ...` line and
exit code 2, before anything is trained or saved.
"""

from __future__ import annotations

from diffusion.data import MnistDataError
from diffusion.train import DDPMTrainingConfig, train
from stackgan_hf.utils.cli import USER_ERRORS, run_script
from stackgan_hf.utils.config import parse_config


def main(argv: list[str] | None = None) -> None:
    train(parse_config(DDPMTrainingConfig, argv, description=__doc__))


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, MnistDataError))

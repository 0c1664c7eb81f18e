"""The DDPM report figures and numbers for a trained pipeline directory (PNG + JSON + samples .npy).

    python scripts/ddpm_figures.py --pipeline_dir outputs/ddpm_mnist --output_dir results/ddpm_mnist \
        [--dataset_dir ../shared/data/mnist] [--sampler ddim --num_inference_steps 100] [--num_samples 1000]

Writes forward_process.png, reverse_process.png, samples_5.png, samples_grid_10x10.png, loss_curve.png,
samples_1000.npy (uint8, (N, 28, 28)) and metrics.json; see `diffusion.visualize`. Every field of
`diffusion.visualize.DDPMReportConfig` is a flag (`--help` lists them). Bad input (an option out of range or
for another kind of pipeline, a missing folder, unreadable data) ends with one `error: ...` line and exit
code 2, before anything is sampled.
"""

from __future__ import annotations

from diffusion.data import MnistDataError
from diffusion.visualize import DDPMReportConfig, make_report
from stackgan_hf.utils.cli import USER_ERRORS, run_script
from stackgan_hf.utils.config import parse_config


def main(argv: list[str] | None = None) -> None:
    metrics = make_report(parse_config(DDPMReportConfig, argv, description=__doc__))
    print(
        f"UNet parameters: {metrics['parameters']['total']:,}; samples: {metrics['sampling']['samples_file']}"
    )


if __name__ == "__main__":
    run_script(main, (*USER_ERRORS, MnistDataError))

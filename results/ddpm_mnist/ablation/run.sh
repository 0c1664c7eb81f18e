#!/usr/bin/env bash
# Issue 14's convergence ablation: configs/ddpm/mnist_cpu.yaml's UNet, one seed, the same CPU budget per variant
# (76,800 training images: 1200 steps of batch 64, 600 of 128, 900 of the 1.33x slower 32 px), both cores.
# Each run is scored by scripts/evaluate.py ddpm on 1,000 DDIM-50 (eta 0) samples, seed 0.
# Run from the repository root:  bash results/ddpm_mnist/ablation/run.sh [variant ...]
set -euo pipefail
RUNS=${RUNS:-$HOME/runs/ddpm_abl}
OUT=results/ddpm_mnist/ablation
BASE="--config configs/ddpm/mnist_cpu.yaml --dataset_dir ../shared/data/mnist --resolution 28 --max_train_steps 1200
      --checkpointing_steps 100000 --report_to none --num_validation_images 0"
declare -A VARIANTS=(
  [base_28px]=""
  [padded_32px]="--resolution 32 --max_train_steps 900"
  [lr_2e-3]="--learning_rate 2e-3"
  [lr_5e-4]="--learning_rate 5e-4"
  [min_snr_5]="--snr_gamma 5"
  [batch_128]="--train_batch_size 128 --max_train_steps 600"
  [no_ema]="--use_ema false"
  [lr_2e-3_min_snr_5]="--learning_rate 2e-3 --snr_gamma 5"  # the two winners together
)
for name in "${@:-base_28px padded_32px lr_2e-3 lr_5e-4 min_snr_5 batch_128 no_ema lr_2e-3_min_snr_5}"; do
  for variant in $name; do
    python scripts/train_ddpm_mnist.py $BASE ${VARIANTS[$variant]} --output_dir "$RUNS/$variant" > "$RUNS/$variant.log" 2>&1
    python -c "
import numpy as np, sys
from diffusion.sampling import generate_digits, load_pipeline
np.save(sys.argv[2], generate_digits(load_pipeline(sys.argv[1], 'ddim'), 1000, 50, 250, seed=0))
" "$RUNS/$variant" "$RUNS/$variant/samples_ddim50_1000.npy"
    python scripts/evaluate.py ddpm --samples "$RUNS/$variant/samples_ddim50_1000.npy" --dataset_dir ../shared/data/mnist \
      --classifier outputs/eval_classifiers/mnist --output "$OUT/$variant.json"
    cp "$RUNS/$variant/training_summary.json" "$OUT/$variant.training.json" 2>/dev/null || true
  done
done
# The table (README.md here) from every variant's evaluation and training summary.
python - "$OUT" <<'PY'
import json, sys
from pathlib import Path
out = Path(sys.argv[1])
rows = ["| variant | steps x batch | wall time (s) | final loss (mean of last 100) | FID (DDIM-50) | inception score | class share min-max |",
        "|---|---|---|---|---|---|---|"]
for path in sorted(out.glob("*.training.json"), key=lambda p: p.stat().st_mtime):
    name = path.name.removesuffix(".training.json")
    training, evaluation = json.loads(path.read_text()), json.loads((out / f"{name}.json").read_text())
    config = training["config"]
    rows.append(
        f"| {name} | {training['global_step']} x {config['train_batch_size']} | {training['wall_time_s_this_run']:.0f} | "
        f"{training['final_loss_mean_last_100']:.4f} | {evaluation['fid']:.1f} | {evaluation['is_mean']:.2f} | "
        f"{evaluation['class_share_min_max'][0]:.3f}-{evaluation['class_share_min_max'][1]:.3f} |"
    )
(out / "table.md").write_text("\n".join(rows) + "\n")
print("\n".join(rows))
PY

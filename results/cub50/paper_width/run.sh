#!/usr/bin/env bash
# CUB-50 Stage-I at the paper's widths (configs/stackgan/cub_stage1.yaml: generator 128, discriminator 64,
# batch 64) in bf16 on one GPU, with the rest of the CUB-50 recipe (configs/stackgan/cub50_stage1.yaml), for
# as many whole epochs as a time budget allows:
#
#   python scripts/prepare_cub.py --cub_dir ../shared/data/cub50/CUB_200_2011 \
#     --birds_dir ../shared/data/cub50/birds --output_dir .data/cub50_76 --image_size 76   # 14 MB
#   bash results/cub50/paper_width/run.sh BUDGET_SECONDS OUT_DIR
#
# A 100-step probe measures the speed; the run then takes the epochs that fit in what is left of the budget
# (less 120 s for the figures and the judge). OUT_DIR gets the time, the summary and history, a grid of the
# ten test captions of results/cub50/test_captions.txt and judge-FID over the 983 test captions. G, D, B and
# PRECISION override the widths, the batch and the precision (e.g. a CPU smoke test: G=8 D=8 B=8 PRECISION=no).
set -euo pipefail
budget=${1:?usage: run.sh BUDGET_SECONDS OUT_DIR}
out=${2:?usage: run.sh BUDGET_SECONDS OUT_DIR}
data=${DATA:-.data/cub50_76}
run=${RUN:-/tmp/cub50_paper_width}
start=$(date +%s)
mkdir -p "$out"
flags=(--config configs/stackgan/cub50_stage1.yaml --dataset "$data" --generator_channels "${G:-128}"
  --discriminator_channels "${D:-64}" --train_batch_size "${B:-64}" --mixed_precision "${PRECISION:-bf16}"
  --dataloader_num_workers 4 --report_to none --overwrite_output_dir)
python scripts/train_stackgan.py "${flags[@]}" --output_dir "$run-probe" --max_train_steps 100 \
  --checkpointing_steps 100 --sample_steps 100 > "$out/probe.log" 2>&1
probe_s=$(python -c "import json; print(json.load(open('$run-probe/stage1_summary.json'))['wall_time_s_this_run'])")
steps_per_epoch=$(python -c "import math; print(math.ceil(1906 / ${B:-64}))")
left=$(( budget - ($(date +%s) - start) - 120 ))
steps=$(python -c "print(max(1, int($left * 100 / $probe_s) // $steps_per_epoch) * $steps_per_epoch)")
echo "probe: 100 steps in ${probe_s} s; training $steps steps ($((steps / steps_per_epoch)) epochs)" | tee "$out/time.txt"
train_start=$(date +%s)
python scripts/train_stackgan.py "${flags[@]}" --output_dir "$run" --max_train_steps "$steps" \
  --checkpointing_steps 1000 --sample_steps 1000 > "$out/train.log" 2>&1
echo "train: $(( $(date +%s) - train_start )) s wall" >> "$out/time.txt"
python -c "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')" >> "$out/time.txt"
cp "$run/stage1_summary.json" "$run/stage1_history.jsonl" "$out/"
python scripts/generate.py --model "$run" --prompts_file results/cub50/test_captions.txt --num_images 4 \
  --grid_images 40 --seed 0 --output_dir "$run-generated" --overwrite > /dev/null
cp "$run-generated/grid.png" "$out/test_captions_grid.png"
python scripts/evaluate.py stackgan --model "$run" --dataset "$data" --split test --num_samples 983 \
  --output "$out/metrics.json" --overwrite > "$out/evaluate.log" 2>&1
cat "$out/time.txt"

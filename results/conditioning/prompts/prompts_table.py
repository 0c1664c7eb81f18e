"""Writes table.md: the quickstart's six fixed validation prompts, each drawn 64 times and judged per part
(`scripts/evaluate.py stackgan --prompts`), for the contrastive weights and seeds of
../contrastive/quickstart_seeds.md (run from the repository root)."""

import json
from pathlib import Path

from stackgan_hf.evaluation.stackgan import PROMPT_RIGHT_SHARE as RIGHT
from stackgan_hf.evaluation.stackgan import prompts_drawn_right

RUNS = Path("results/conditioning/contrastive")
ROWS = [
    (str(weight), seed, RUNS / f"quickstart_contrastive_{weight}_seed{seed}_metrics.json")
    for weight in (8, 16, 32)
    for seed in (0, 1)
]
# The quickstart (weight 16) with word triples in the bag-of-words encoder (--bag_of_words_max_ngram 3)
ROWS.append(("16, word triples", 0, Path(__file__).parent / "quickstart_word_triples_seed0_metrics.json"))
# The quickstart (weight 16) with hard negative captions in its contrastive loss (../negatives/table.md)
NEGATIVES = Path("results/conditioning/negatives")
for kinds in ("swap", "swap,copy"):
    for seed in (0, 1):
        path = NEGATIVES / f"quickstart_{kinds.replace(',', '_')}_seed{seed}_metrics.json"
        if path.is_file():
            ROWS.append((f"16, negatives {kinds}", seed, path))
# ... and with those captions also as mismatched pairs and the n-gram vocabulary: the quickstart now
# (../binding/table.md; a later session's 2-core Intel machine, with its own judge)
BINDING = Path("results/conditioning/binding")
for seed in (0, 1):
    ROWS.append(
        (
            "16, swap,copy, mismatched, n-grams",
            seed,
            BINDING / f"ngram_vocabulary_mismatched_seed{seed}_metrics.json",
        )
    )
# ... a third session on the AMD machine: those without and with an EMA of the generator (the quickstart now)
for name, label in (
    ("reused", "16, swap,copy, mismatched, n-grams (AMD)"),
    ("reused_ema", "the same + EMA (AMD)"),
):
    for seed in (0, 1):
        ROWS.append((label, seed, BINDING / f"{name}_seed{seed}_metrics.json"))
# ... a fourth session on the Intel machine (no bf16 units), where that quickstart took 16 minutes: it, and
# the quickstart now (2,500 Stage-I steps, mismatched captions, learning rates G 1.6e-3 / D 4e-4;
# ../intel_budget/)
INTEL = Path(__file__).resolve().parents[1] / "intel_budget"
ROWS.append(("the same + EMA, 5,000 steps (Intel)", 0, INTEL / "quickstart_5000_steps_metrics.json"))
QUICKSTART = Path("results/quickstart/metrics.json")  # the quickstart now, seed 0
ROWS.append(("the 10-minute quickstart now (Intel)", 0, QUICKSTART))
# ... and the same command on an AMD machine, seeds 0 and 1 (../birds/)
BIRDS = Path(__file__).resolve().parents[1] / "birds"
for seed in (0, 1):
    ROWS.append(("the 10-minute quickstart now (AMD)", seed, BIRDS / f"birds2048_seed{seed}_metrics.json"))


def prompts_of(path: Path) -> list[dict]:
    return json.loads(path.read_text())["prompts"]


first = prompts_of(RUNS / "quickstart_contrastive_16_seed0_metrics.json")
header = " | ".join(f"{i + 1}: {row['asked']}" for i, row in enumerate(first))
lines = [
    "# Do the quickstart's fixed prompts come out right? Each drawn 64 times, judged per part",
    "",
    "The quickstart's six `validation_prompts` (the grid in the README), each drawn 64 times with the same",
    "64 noise vectors for every prompt, judged by the quickstart's judge (`scripts/evaluate.py stackgan",
    "--prompts`). A cell: the share of the 64 images with all three asked colours on their parts, Stage-I /",
    f"Stage-II. 'Right' counts the prompts with at least {RIGHT:.0%} of their Stage-I and Stage-II images",
    "right.",
    "Runs: ../contrastive/quickstart_seeds.md (the whole quickstart, contrastive weight and seed as named),",
    "../negatives/table.md (hard negative captions) and ../binding/table.md (also as mismatched pairs, and",
    "the n-gram vocabulary, on an Intel machine with its judge; then on the AMD machine, with an EMA of the",
    "generator; then on an Intel machine again, the 10-minute quickstart: ../intel_budget/table.md; and",
    "that quickstart on an AMD machine: ../birds/table.md);",
    "commands:",
    "../contrastive/command.txt,",
    "../negatives/command.txt, ../binding/command.txt and command.txt here. This table:",
    "`python results/conditioning/prompts/prompts_table.py`.",
    "",
    f"| weight | seed | {header} | right |",
    "|---:|---:|" + "---:|" * len(first) + "---:|",
]
for weight, seed, path in ROWS:
    prompts = prompts_of(path)
    assert [p["prompt"] for p in prompts] == [p["prompt"] for p in first]
    cells = []
    for prompt in prompts:
        s1, s2 = prompt["stages"]["stage1"]["all_colours"], prompt["stages"]["stage2"]["all_colours"]
        cells.append(f"{s1:.2f} / {s2:.2f}")
    right = prompts_drawn_right(prompts)
    lines.append(f"| {weight} | {seed} | " + " | ".join(cells) + f" | {right} of {len(prompts)} |")
lines += [
    "",
    "The quickstart as committed (weight 16, hard negatives swap,copy also as mismatched pairs, the",
    "n-gram vocabulary, EMA, mismatched captions, G lr 1.6e-3 and D lr 4e-4, 2,500 Stage-I steps, seed 0;",
    "`results/quickstart/metrics.json`, the Intel machine's judge), per part, Stage-I (Stage-II), and",
    "the colour triple (crown/wings/breast) drawn most often with its share of the 64 images:",
    "",
    "| prompt | asked | crown | wings | breast | all 3 | drawn most often |",
    "|---|---|---:|---:|---:|---:|---|",
]
for prompt in prompts_of(QUICKSTART):
    s1, s2 = prompt["stages"]["stage1"], prompt["stages"]["stage2"]
    heads = ("crown_color", "wing_color", "breast_color", "all_colours")
    parts = [f"{s1[head]:.2f} ({s2[head]:.2f})" for head in heads]
    stage1_most = f"{s1['most_drawn']} {s1['most_drawn_share']:.2f}"
    most = f"{stage1_most} ({s2['most_drawn']} {s2['most_drawn_share']:.2f})"
    lines.append(f"| {prompt['prompt']} | {prompt['asked']} | " + " | ".join(parts) + f" | {most} |")
(Path(__file__).parent / "table.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

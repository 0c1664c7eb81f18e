"""The comparison tables shared by the results/cub50 question folders.

- `stage1_table` (discriminator_width, stage1_epochs): four judges on the test captions, judge A on
  training captions, R-precision, held-out figures, blind reviews.
- `stage2_table` (stage2_consistency, stage2_discriminator_width: two judges at 64 and 128 px;
  stage2_super_resolution, stage2_generator_width, stage2_feature_matching: the committed judges,
  `COMMITTED_JUDGES`), with the bicubic and Stage-I baselines.
- `STAGES` and `cell` (table.py, rescored): one stage's metric from a pipeline's metrics file.
- `window_cells` (stage1_lecam, stage1_ada): the discriminator's accuracies and the generator's loss over
  a window of steps.
"""

from __future__ import annotations

import json
from pathlib import Path


def read(path: Path) -> dict:
    return json.loads(path.read_text())


STAGES = {
    "stage1": "Stage-I (64x64)",
    "stage1_bicubic": "Stage-I upsampled bicubically to 256",
    "stage2": "Stage-II (256x256)",
}


def cell(metrics: dict, stage: str, key: str, digits: int = 1) -> str:
    """One metric of one stage, formatted, or – where the metrics file has none."""
    value = metrics["stages"].get(stage, {}).get(key)
    return "–" if value is None else f"{value:.{digits}f}"


def counts(review: dict, run: str) -> str:
    """A review's "clear (borderline)" cell for a run, or – where the review did not see it."""
    return f"{review[run]['clear']} ({review[run]['borderline']})" if run in review else "–"


def window_cells(window: dict) -> list[str]:
    """A window of training steps: the discriminator's accuracies (real, generated, mismatched) and the
    generator's loss, formatted."""
    accuracies = [f"{window[key]:.3f}" for key in ("d_acc_real", "d_acc_fake", "d_acc_mismatched")]
    return accuracies + [f"{window['g_loss']:.2f}"]


def row(
    run: str,
    label: str,
    folder: Path,
    reviews: list[dict],
    judges: str = "ABCD",
    r_precision: bool = True,
    heldout: Path | None = None,
) -> str:
    """One run's cells, read from `folder`'s `{run}_*.json` (the held-out figures from `heldout` if given)."""
    test = {judge: read(folder / f"{run}_judge{judge}.json")["stages"]["stage1"] for judge in judges}
    train = read(folder / f"{run}_train_judgeA.json")["stages"]["stage1"]
    held = next(iter(read(heldout or folder / f"{run}_heldout_seeds.json").values()))
    cells = [f"{test[judge]['fid']:.1f}" for judge in judges] + [f"{train['fid']:.1f}"]
    if r_precision:
        cells += [f"{test['A']['r_precision']:.3f}", f"{train['r_precision']:.3f}"]
    cells.append(f"{held['heldout_acc_real']:.2f} ± {held['heldout_acc_real_std']:.2f}")
    cells.append(f"{held['heldout_acc_mismatched']:.2f} ± {held['heldout_acc_mismatched_std']:.2f}")
    cells += [counts(review, run) for review in reviews]
    return f"| {label} | " + " | ".join(cells) + " |"


def stage1_table(
    title: str,
    description: str,
    first_column: str,
    runs: dict,
    reviews: dict[str, dict],
    judges: str = "ABCD",
    r_precision: bool = True,
    heading: str = "#",
) -> str:
    """Markdown of one row per run ({run: (label, folder of its metrics[, its held-out file])}) and one for
    the real photographs.

    `reviews` maps each column's name (e.g. "review 7") to that review's counts; `judges` names the
    test-caption judges' columns, and `r_precision=False` leaves out the R-precision columns; `heading`
    is the title's Markdown level ("##" for a second table in one file).
    """
    names = list(reviews)
    header = [f"FID {judge} ↓" for judge in judges] + ["FID train ↓"]
    if r_precision:
        header += ["R-prec. test ↑", "R-prec. train ↑"]
    header += ["held-out real ↑", "held-out mismatched ↑"] + [
        f"{name}: clear (borderline) ↑" for name in names
    ]
    lines = [f"{heading} {title}", "", description, ""]
    lines.append(f"| {first_column} | " + " | ".join(header) + " |")
    lines.append("|---|" + "---:|" * len(header))
    lines += [
        row(run, label, folder, list(reviews.values()), judges, r_precision, *heldout)
        for run, (label, folder, *heldout) in runs.items()
    ]
    real = "".join(f" {counts(review, 'real')} |" for review in reviews.values())
    lines.append("| real photographs |" + " – |" * (len(header) - len(names)) + real)
    return "\n".join(lines) + "\n"


STAGE2_JUDGES = [
    ("A, 64 px", "judgeA64"),
    ("A, 128 px", "judgeA128"),
    ("B, 64 px", "judgeB64"),
    ("B, 128 px", "judgeB128"),
]


COMMITTED_JUDGES = [("A*, 64 px", "judgeA64"), ("C*, 64 px", "judgeC64"), ("128 px", "judgeA128")]


def stage2_fid(folder: Path, tag: str, suffix: str, stage: str = "stage2") -> str:
    return f"{read(folder / f'{tag}_{suffix}.json')['stages'][stage]['fid']:.1f}"


def stage2_table(
    title: str, description: str, runs: dict, baseline: tuple[Path, str], judges: list = STAGE2_JUDGES
) -> str:
    """Markdown of one row per Stage-II run ({tag: (label, seed, folder of its metrics)}), then the bicubic
    upsampling of Stage-I and Stage-I itself, read from the `baseline` run's (folder, tag) files. `judges`
    names each column and its files' suffix (`{tag}_{suffix}.json`)."""
    lines = [f"# {title}", "", description, ""]
    lines.append("| Stage-II | seed | " + " | ".join(f"{label} ↓" for label, _ in judges) + " |")
    lines.append("|---|---:|" + "---:|" * len(judges))
    for tag, (label, seed, folder) in runs.items():
        cells = " | ".join(stage2_fid(folder, tag, suffix) for _, suffix in judges)
        lines.append(f"| {label} | {seed} | {cells} |")
    baselines = {"stage1_bicubic": "Stage-I upsampled bicubically (the baseline)", "stage1": "Stage-I"}
    for stage, label in baselines.items():
        cells = " | ".join(stage2_fid(*baseline, suffix, stage) for _, suffix in judges)
        lines.append(f"| {label} | – | {cells} |")
    return "\n".join(lines) + "\n"


DIAGNOSIS_KINDS = {  # d_sees_texture.py's kinds of image: column header
    "real": "real",
    "bicubic_of_real": "its bicubic round trip",
    "stage2_of_real": "Stage-II of the round trip's 64 px",
    "bicubic_of_stage1": "Stage-I, bicubic",
    "stage2_of_stage1": "Stage-II of Stage-I",
}


def diagnosis_table(description: str, runs: dict[str, dict]) -> str:
    """Markdown of `d_sees_texture.py`'s scores ({label: scores of each kind}) under `description`."""
    lines = ["## Does the discriminator see the detail?", "", description, ""]
    lines.append("| Stage-II discriminator | " + " | ".join(DIAGNOSIS_KINDS.values()) + " |")
    lines.append("|---|" + "---:|" * len(DIAGNOSIS_KINDS))
    for label, scores in runs.items():
        cells = [
            f"{scores[k]['mean_p_real']:.3f} ({scores[k]['frac_scored_real']:.2f})" for k in DIAGNOSIS_KINDS
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"

"""Caption(s) -> PNG files and a captioned grid, from a saved pipeline (used by scripts/generate.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch

from .pipeline_stackgan import StackGANPipeline
from .visualization import captioned_grid


def read_prompts(prompts: list[str] | None, prompts_file: str | None) -> list[str]:
    """Prompts from the command line, or one per non-empty line of ``prompts_file``."""
    if bool(prompts) == bool(prompts_file):
        raise ValueError("Give either --prompt (one or more) or --prompts_file, not both and not neither.")
    if prompts_file:
        path = Path(prompts_file)
        if not path.is_file():
            raise FileNotFoundError(f"--prompts_file {path}: no such file.")
        prompts = [line.strip() for line in path.read_text().splitlines() if line.strip()]
        if not prompts:
            raise ValueError(f"--prompts_file {path} has no prompts (one per line).")
    return list(prompts)


def _slug(text: str, length: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:length] or "prompt"


def generate_to_folder(
    pipe: StackGANPipeline, prompts: list[str], num_images: int, seed: int, output_dir: str | Path
) -> dict:
    """Writes ``{i:03d}-{j}-<slug>-stage1.png`` (and ``-stage2.png``) per prompt ``i`` and image ``j``, a
    captioned ``grid.png`` (one column per image: Stage-I above Stage-II) and ``images.json``."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    out = pipe(prompts, num_images_per_prompt=num_images, generator=torch.Generator().manual_seed(seed))
    has_stage2 = pipe.stage2_generator is not None
    records, columns, captions = [], [], []
    for index, (stage1, final) in enumerate(zip(out.stage1_images, out.images)):
        prompt_index, image_index = divmod(index, num_images)
        prompt = prompts[prompt_index]
        stem = f"{prompt_index:03d}-{image_index}-{_slug(prompt)}"
        record = {"prompt": prompt, "seed": seed, "stage1": f"{stem}-stage1.png"}
        stage1.save(output_dir / record["stage1"])
        column = [stage1]
        if has_stage2:
            record["stage2"] = f"{stem}-stage2.png"
            final.save(output_dir / record["stage2"])
            column.append(final)
        records.append(record)
        columns.append(column)
        captions.append(prompt)
    captioned_grid(columns, captions, cell_size=256 if has_stage2 else 128).save(output_dir / "grid.png")
    (output_dir / "images.json").write_text(json.dumps(records, indent=2) + "\n")
    return {"images": records, "grid": str(output_dir / "grid.png")}

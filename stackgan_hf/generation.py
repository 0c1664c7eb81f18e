"""Caption(s) -> PNG files and a captioned grid, from a saved pipeline (used by scripts/generate.py).

Images are generated and written ``batch_size`` at a time, so memory does not grow with their number; the
grid shows at most ``grid_images`` of them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from tqdm.auto import tqdm

from .pipeline_stackgan import StackGANPipeline
from .visualization import captioned_grid

#: The largest seed: ``torch.Generator.manual_seed`` takes up to 2**64 - 1, and image ``k`` uses ``seed + k``.
MAX_SEED = 2**63 - 1


def read_prompts(prompts: list[str] | None, prompts_file: str | None) -> list[str]:
    """Prompts from the command line, or one per non-empty line of ``prompts_file`` (UTF-8 text)."""
    if bool(prompts) == bool(prompts_file):
        raise ValueError("Give either --prompt (one or more) or --prompts_file, not both and not neither.")
    if prompts_file:
        path = Path(prompts_file)
        if path.is_dir():
            raise ValueError(
                f"--prompts_file {path} is a folder; expected a text file with one prompt a line."
            )
        if not path.is_file():
            raise FileNotFoundError(f"--prompts_file {path}: no such file.")
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValueError(f"--prompts_file {path} is not UTF-8 text (one prompt a line).") from None
        prompts = [line.strip() for line in text.splitlines() if line.strip()]
        if not prompts:
            raise ValueError(f"--prompts_file {path} has no prompts (one per line).")
    return list(prompts)


def _slug(text: str, length: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:length] or "prompt"


def _records(prompts: list[str], num_images: int, seed: int, stage2: bool) -> list[dict]:
    """One record per image, in order: prompt ``i``'s image ``j`` is image ``i * num_images + j``, drawn
    with ``torch.Generator().manual_seed(seed + k)`` for its index ``k``."""
    records = []
    for prompt_index, prompt in enumerate(prompts):
        for image_index in range(num_images):
            stem = f"{prompt_index:03d}-{image_index}-{_slug(prompt)}"
            record = {"prompt": prompt, "seed": seed + len(records), "stage1": f"{stem}-stage1.png"}
            if stage2:
                record["stage2"] = f"{stem}-stage2.png"
            records.append(record)
    return records


def check_output_dir(output_dir: Path, files: list[str], overwrite: bool) -> None:
    """Refuses an ``output_dir`` that is a file, or one holding any of ``files`` unless ``overwrite``."""
    if output_dir.exists() and not output_dir.is_dir():
        raise FileExistsError(f"--output_dir {output_dir} is a file; expected a folder (new or existing).")
    if overwrite or not output_dir.is_dir():
        return
    existing = [name for name in files if (output_dir / name).exists()]
    if existing:
        more = f" and {len(existing) - 1} more of the files this run would write" if len(existing) > 1 else ""
        raise FileExistsError(
            f"--output_dir {output_dir} already holds {existing[0]}{more}: pass --overwrite to replace them, "
            "or choose another --output_dir."
        )


def generate_to_folder(
    pipe: StackGANPipeline,
    prompts: list[str],
    num_images: int,
    seed: int,
    output_dir: str | Path,
    batch_size: int = 64,
    grid_images: int = 16,
    overwrite: bool = False,
) -> dict:
    """Draws ``num_images`` images per prompt in batches of ``batch_size`` and writes
    ``{i:03d}-{j}-<slug>-stage1.png`` (and ``-stage2.png``), a captioned ``grid.png`` of the first
    ``grid_images`` and ``images.json`` into ``output_dir``. Image ``k`` uses ``manual_seed(seed + k)``.
    Existing files are an error before anything is drawn, unless ``overwrite``. Returns ``{"images": records,
    "grid": path}``."""
    output_dir = Path(output_dir)
    has_stage2 = pipe.stage2_generator is not None
    records = _records(prompts, num_images, seed, has_stage2)
    names = ["grid.png", "images.json"] + [
        r[key] for r in records for key in ("stage1", "stage2") if key in r
    ]
    check_output_dir(output_dir, names, overwrite)
    output_dir.mkdir(parents=True, exist_ok=True)
    columns = []
    with tqdm(total=len(records), desc="Generating", unit="img") as progress:
        for start in range(0, len(records), batch_size):
            batch = records[start : start + batch_size]
            out = pipe(
                [record["prompt"] for record in batch],
                generator=[torch.Generator().manual_seed(record["seed"]) for record in batch],
            )
            for record, stage1, final in zip(batch, out.stage1_images, out.images):
                stage1.save(output_dir / record["stage1"])
                if has_stage2:
                    final.save(output_dir / record["stage2"])
                if len(columns) < grid_images:
                    columns.append([stage1, final] if has_stage2 else [stage1])
            progress.update(len(batch))
    captions = [record["prompt"] for record in records[: len(columns)]]
    captioned_grid(columns, captions, cell_size=256 if has_stage2 else 128).save(output_dir / "grid.png")
    (output_dir / "images.json").write_text(json.dumps(records, indent=2) + "\n")
    return {"images": records, "grid": str(output_dir / "grid.png")}

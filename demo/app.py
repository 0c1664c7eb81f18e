"""A Gradio demo of a trained StackGANPipeline: a caption in, Stage-I (64x64) and Stage-II (256x256) birds.

    python demo/app.py [--model DIR_OR_REPO_ID] [--port 7860] [--share]

With no --model it offers the committed CUB-50 pipeline (real birds, results/cub50/pipeline) and the
synthetic-birds quickstart (outputs/quickstart once the README's first command has made it, else the
committed results/quickstart/pipeline when there is one), with a selector between them. As a
Hugging Face Space: put this folder's app.py and requirements.txt at the Space's root, with the `stackgan_hf`
package beside them (or installed), and set the STACKGAN_MODEL variable to a model repo id. Runs on a CPU.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if not (ROOT / "stackgan_hf").is_dir():  # a Space keeps the package next to app.py
    ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

import gradio as gr  # noqa: E402
import torch  # noqa: E402

#: The models offered when none is named: label -> candidate folders, the first that exists is used.
DEFAULT_MODELS = {
    "Real birds (CUB-50)": [ROOT / "results" / "cub50" / "pipeline"],
    "Synthetic birds (quickstart)": [
        ROOT / "outputs" / "quickstart",
        ROOT / "results" / "quickstart" / "pipeline",
    ],
}
MAX_IMAGES = 8
MAX_SEED = 2**31 - 1
MAX_CAPTION_CHARS = 1000  # the bag-of-words encoder has no length limit of its own; the UI sets one
CUB_EXAMPLES = [
    "this bird has a white belly, a black back and a long orange beak",
    "a small yellow bird with black wings and a short pointed beak",
    "a large bird with a white head and grey wings",
    "this bird is black with a long tail and a thick black bill",
]
EXAMPLES = [
    "this bird has a red crown, blue wings and a yellow breast",
    "a small bird with a black crown, white wings and an orange breast",
    "the bird has a green crown, brown wings and a white breast, with a short beak",
    "a large yellow bird with black wings and a long beak",
    "this little bird is mostly blue with a red crown",
]
HOW_TO_TRAIN = (
    "No model to show: no committed pipeline was found and none was named. Train the offline "
    "quickstart (about 10 minutes on a laptop CPU):\n\n"
    "    pip install torch==2.13.0 && pip install -e '.[dev]'\n"
    "    accelerate launch scripts/train_stackgan.py\n\n"
    "then run `python demo/app.py` again, or pass `--model DIR_OR_REPO_ID`."
)


@dataclass
class Result:
    stage1: list
    stage2: list
    message: str


def available_models(model: str | None = None) -> dict[str, str]:
    """Label -> folder or repo id of the models to offer: the one named (``--model`` or ``STACKGAN_MODEL``),
    else every default model that exists here."""
    named = model or os.environ.get("STACKGAN_MODEL")
    if named:
        return {named: named}
    found = {}
    for label, candidates in DEFAULT_MODELS.items():
        folder = next((path for path in candidates if (path / "model_index.json").is_file()), None)
        if folder is not None:
            found[label] = str(folder)
    return found


class Demo:
    """The models and the generate function behind the UI (testable without a browser)."""

    def __init__(self, model: str | None = None):
        self.models = available_models(model)
        self._loaded: dict[str, tuple] = {}
        self.model_name = self.pipeline = None
        self.facts = ""
        if self.models:
            self.select(next(iter(self.models)))

    def select(self, label: str) -> str:
        """Makes the model ``label`` (a key of ``models``) the one that draws; returns its facts."""
        if label not in self.models:
            raise ValueError(f"Unknown model {label!r}: choose one of {list(self.models)}.")
        if label not in self._loaded:
            from stackgan_hf import StackGANPipeline

            pipeline = StackGANPipeline.from_pretrained(self.models[label])
            self._loaded[label] = (pipeline, model_facts(self.models[label], pipeline))
        self.model_name = self.models[label]
        self.pipeline, self.facts = self._loaded[label]
        return self.facts

    def examples(self) -> list[str]:
        """Example captions in the style of the selected model's training captions."""
        return EXAMPLES if "quickstart" in str(self.model_name) else CUB_EXAMPLES

    def caption_limit(self) -> tuple[int | None, str]:
        """(token limit, its unit) of the pipeline's text encoder; None: no limit (bag-of-words)."""
        tokenizer = self.pipeline.tokenizer
        if tokenizer is not None and getattr(tokenizer, "model_max_length", 0) < 100_000:
            return tokenizer.model_max_length, "tokens"
        return None, "characters"

    def generate(self, caption: str, seed: float, num_images: float) -> Result:
        """Images of ``caption``; every problem with the inputs is a message in the result, not an error."""
        if self.pipeline is None:
            return Result([], [], HOW_TO_TRAIN)
        if caption is not None and not isinstance(caption, str):
            return Result([], [], f"The caption must be text, got {type(caption).__name__}.")
        caption = (caption or "").strip()
        if not caption:
            return Result([], [], "Please type a caption first, e.g. *" + self.examples()[0] + "*.")
        try:
            seed = _whole_number(seed, "Seed", 0, 0, MAX_SEED)
            count = _whole_number(num_images, "Images", 1, 1, MAX_IMAGES)
        except ValueError as error:
            return Result([], [], str(error))
        notes = []
        if len(caption) > MAX_CAPTION_CHARS:
            caption = caption[:MAX_CAPTION_CHARS]
            notes.append(f"The caption was cut to its first {MAX_CAPTION_CHARS} characters.")
        limit, unit = self.caption_limit()
        if limit is not None:
            tokens = len(self.pipeline.tokenizer(caption, truncation=False)["input_ids"])
            if tokens > limit:
                notes.append(
                    f"The caption has {tokens} tokens; the text encoder reads only the first {limit} "
                    "(the rest is ignored)."
                )
        try:
            output = self.pipeline(
                caption, num_images_per_prompt=count, generator=torch.Generator().manual_seed(seed)
            )
        except ValueError as error:  # e.g. a caption with no word the text encoder can read
            return Result([], [], str(error))
        stage2 = output.images if self.pipeline.stage2_generator is not None else []
        if not stage2:
            notes.append("This model has no Stage-II: only 64x64 images.")
        notes.insert(0, f"{count} image(s), seed {seed}.")
        return Result(list(output.stage1_images), list(stage2), " ".join(notes))


def _whole_number(value, name: str, default: int, low: int, high: int) -> int:
    """``value`` (a number or numeric text; None: ``default``) as an int clamped to ``[low, high]``;
    ``ValueError`` naming the field for text that is not a number, NaN or infinity."""
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}.") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}.")
    return int(min(max(int(number), low), high))


def model_facts(model: str, pipeline) -> str:
    """Dataset, text encoder and training steps from the run's summaries (or the model card's metadata)."""
    folder = Path(model)
    if not folder.is_dir():
        from huggingface_hub import snapshot_download

        folder = Path(snapshot_download(model, allow_patterns=["*.json", "README.md"]))
    facts = {}
    for stage in (1, 2):
        for path in (folder / f"stage{stage}_summary.json", folder / "stage1" / f"stage{stage}_summary.json"):
            if path.is_file():
                summary = json.loads(path.read_text())
                facts.setdefault("dataset", summary["config"]["dataset"])
                facts.setdefault("text encoder", summary["config"]["text_encoder"])
                facts[f"Stage-{'I' * stage} steps"] = f"{summary['steps']} (batch {summary['batch_size']})"
                break
    if not facts and (folder / "README.md").is_file():
        from huggingface_hub import ModelCard

        data = ModelCard.load(folder / "README.md").data.to_dict()
        facts = {key: data[key] for key in ("datasets", "pipeline_tag", "library_name") if key in data}
    facts.setdefault(
        "text encoder", type(pipeline.text_encoder).__name__ if pipeline.text_encoder else "none"
    )
    return f"**Model:** `{model}` · " + " · ".join(f"**{k}:** {v}" for k, v in facts.items())


def build_ui(demo: Demo) -> gr.Blocks:
    with gr.Blocks(title="StackGAN birds") as ui:
        gr.Markdown(
            "# StackGAN: text to bird\nType a bird description; Stage-I draws a 64x64 sketch, "
            "Stage-II refines it to 256x256."
        )
        if len(demo.models) > 1:
            choice = gr.Radio(
                list(demo.models), value=next(iter(demo.models)), label="Model", elem_id="model"
            )
        with gr.Row():
            caption = gr.Textbox(
                label="Caption", placeholder=demo.examples()[0], lines=2, scale=4, elem_id="caption"
            )
            with gr.Column(scale=1):
                seed = gr.Number(label="Seed", value=0, precision=0, minimum=0, maximum=MAX_SEED)
                count = gr.Slider(label="Images", minimum=1, maximum=MAX_IMAGES, step=1, value=2)
        button = gr.Button("Generate", variant="primary", elem_id="generate")
        message = gr.Markdown(HOW_TO_TRAIN if demo.pipeline is None else "", elem_id="message")
        with gr.Row():
            stage1 = gr.Gallery(label="Stage-I (64x64)", columns=4, height=300, elem_id="stage1")
            stage2 = gr.Gallery(label="Stage-II (256x256)", columns=4, height=300, elem_id="stage2")
        facts = gr.Markdown(demo.facts, elem_id="facts")
        gr.Examples(CUB_EXAMPLES + EXAMPLES if len(demo.models) > 1 else demo.examples(), inputs=caption)
        if len(demo.models) > 1:
            choice.change(demo.select, inputs=choice, outputs=facts)

        def run(text, seed_value, number):
            result = demo.generate(text, seed_value, number)
            return result.stage1, result.stage2, result.message

        button.click(run, inputs=[caption, seed, count], outputs=[stage1, stage2, message])
        caption.submit(run, inputs=[caption, seed, count], outputs=[stage1, stage2, message])
    return ui


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=None, help="pipeline folder or Hub repo id")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true")
    args = parser.parse_args(argv)
    if not 1 <= args.port <= 65535:
        parser.error(f"--port: expected 1 to 65535, got {args.port}")
    try:
        demo = Demo(args.model)
    except (OSError, ValueError) as error:  # a missing or unreadable model folder, an unknown Hub id
        parser.error(f"--model: {error}")
    if demo.pipeline is None:
        print(HOW_TO_TRAIN)
    build_ui(demo).launch(server_name=args.host, server_port=args.port, share=args.share)


if __name__ == "__main__":
    main()

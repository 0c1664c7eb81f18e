"""How far apart does the quickstart's bag-of-words encoder put a caption and the same caption with two
parts' colours swapped? Cosine similarities of the embeddings (run from the repository root, after the
quickstart has written outputs/quickstart); writes swapped_parts.md next to this file."""

from pathlib import Path

import torch

from stackgan_hf import StackGANPipeline

PROMPT = "this bird has a {} crown, {} wings and a {} breast"
PAIRS = [  # (colours, the same with two parts swapped or all changed): crown, wings, breast
    (("white", "black", "green"), ("green", "black", "white")),  # the fifth fixed prompt's colours: fails
    (("black", "red", "yellow"), ("red", "black", "yellow")),
    (("red", "blue", "yellow"), ("yellow", "blue", "red")),  # the first fixed prompt's colours: right
    (("red", "blue", "yellow"), ("green", "brown", "white")),
]
pipeline = StackGANPipeline.from_pretrained("outputs/quickstart")


def cosine(first: str, second: str) -> float:
    with torch.no_grad():
        embeddings = pipeline.text_encoder([first, second]).float()
    return torch.nn.functional.cosine_similarity(embeddings[:1], embeddings[1:]).item()


lines = [
    "# The bag-of-words encoder and swapped parts",
    "",
    "Cosine similarity of the quickstart's text embeddings (`outputs/quickstart/text_encoder`: words and",
    "hashed word pairs, 256-d) between a caption and a variant. Command: "
    "`python results/conditioning/prompts/swapped_parts.py`.",
    "",
    "| caption | variant | cosine |",
    "|---|---|---:|",
]
for colours, swapped in PAIRS:
    first, second = PROMPT.format(*colours), PROMPT.format(*swapped)
    lines.append(f"| {first} | {second} | {cosine(first, second):.3f} |")
same = PROMPT.format("red", "blue", "yellow")
other_template = "a bird with a red crown, blue wings and a yellow breast"
lines.append(
    f"| {same} | {other_template} (same colours, other words) | {cosine(same, other_template):.3f} |"
)
(Path(__file__).parent / "swapped_parts.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))

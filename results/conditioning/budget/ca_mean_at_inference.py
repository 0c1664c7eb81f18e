"""Evaluates a trained StackGAN pipeline with its conditioning-augmentation sample moved towards the CA mean:
scale 1 is the sample, as trained; 0 is the mean (no CA noise at inference).

    python results/conditioning/budget/ca_mean_at_inference.py outputs/quickstart 0
"""

import sys

from stackgan_hf.evaluation.stackgan import evaluate_stackgan_model
from stackgan_hf.models import conditioning

scale = float(sys.argv[2])
original = conditioning.ConditioningAugmentation.forward


def forward(self, text_embeddings, generator=None, return_dict=True):
    out = original(self, text_embeddings, generator=generator, return_dict=True)
    condition = out.mu + scale * (out.condition - out.mu)
    if not return_dict:
        return condition, out.mu, out.logvar
    return conditioning.ConditioningAugmentationOutput(condition=condition, mu=out.mu, logvar=out.logvar)


conditioning.ConditioningAugmentation.forward = forward
metrics = evaluate_stackgan_model(sys.argv[1], num_samples=1000)
for stage, values in metrics["stages"].items():
    colours = values["attribute_accuracy"]
    print(
        sys.argv[1],
        scale,
        stage,
        round(values["fid"], 1),
        round(colours["mean_colour"], 3),
        round(colours["colour_set_recall"], 3),
        round(metrics["coverage"][stage], 3),
    )

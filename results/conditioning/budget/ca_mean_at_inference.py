# Evaluates a trained pipeline with its CA sample scaled towards the CA mean (scale 1: the sample, as trained;
# 0: the mean, no CA noise). Usage: python results/conditioning/budget/ca_mean_at_inference.py outputs/quickstart 0
import json, sys, torch
from stackgan_hf.models import conditioning as C
from stackgan_hf.evaluation.stackgan import evaluate_stackgan_model
scale = float(sys.argv[2])
orig = C.ConditioningAugmentation.forward
def forward(self, text_embeddings, generator=None, return_dict=True):
    out = orig(self, text_embeddings, generator=generator, return_dict=True)
    cond = out.mu + scale * (out.condition - out.mu)
    if not return_dict:
        return cond, out.mu, out.logvar
    return C.ConditioningAugmentationOutput(condition=cond, mu=out.mu, logvar=out.logvar)
C.ConditioningAugmentation.forward = forward
m = evaluate_stackgan_model(sys.argv[1], num_samples=1000)
for st, a in m["stages"].items():
    aa = a["attribute_accuracy"]
    print(sys.argv[1], scale, st, round(a["fid"], 1), round(aa["mean_colour"], 3), round(aa["colour_set_recall"], 3), m["coverage"][st])

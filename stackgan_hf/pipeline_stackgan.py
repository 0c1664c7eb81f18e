"""``StackGANPipeline``: caption -> text embedding -> Stage-I 64x64 image -> Stage-II 256x256 image.

A saved folder loads with ``StackGANPipeline.from_pretrained`` (the installed classes) or with
``DiffusionPipeline.from_pretrained(..., trust_remote_code=True)``: ``save_pretrained`` (or
``add_pipeline_code`` for an older folder) writes small modules that import the classes from ``stackgan_hf``.
Details: docs/theory.md, "Pipeline code in a saved folder".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass

import numpy as np
import PIL.Image
import torch
from diffusers import DiffusionPipeline
from diffusers.image_processor import VaeImageProcessor
from diffusers.utils import BaseOutput
from diffusers.utils.torch_utils import randn_tensor

from .models import StackGANStage1Generator, StackGANStage2Generator
from .text import encode_prompts, text_embedding_dim
from .text.encoders import POOLING_MODES
from .utils.config import InputError
from .utils.hub import check_model_path

# Weights are loaded from safetensors only: pickled checkpoints in a repository are never downloaded.
_PICKLED_WEIGHTS = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.pkl", "*.msgpack", "*.h5", "*.onnx"]

# The pipeline's file in a saved folder, which diffusers imports with trust_remote_code=True.
PIPELINE_CODE_FILE = "pipeline_stackgan.py"
# The libraries diffusers loads components from by name; any other component is a class of this package.
_DIFFUSERS_LIBRARIES = ("diffusers", "transformers", "onnxruntime.training")

_CODE_TEMPLATE = '''"""{name} for diffusers' loader, from the installed stackgan-hf package.

`DiffusionPipeline.from_pretrained(<this pipeline>, trust_remote_code=True)` imports this file: the class
is `{module}.{name}`; the weights and configs are in this folder.
Written by `StackGANPipeline.save_pretrained` (`stackgan_hf.pipeline_stackgan.add_pipeline_code`);
`StackGANPipeline.from_pretrained` does not import it.
"""

try:
    from {module} import {name}
except ImportError as error:
    raise ImportError(
        "This pipeline's code is the stackgan-hf package (stackgan_hf): install it (`pip install -e .` in a "
        "clone of stackgan-hf) and load again."
    ) from error

__all__ = ["{name}"]
'''


def _component_classes() -> dict[str, type]:
    """The classes of this package a pipeline component can be, by name."""
    from diffusers import ModelMixin

    from . import models, text

    return {
        name: getattr(module, name)
        for module in (models, text)
        for name in module.__all__
        if isinstance(getattr(module, name), type) and issubclass(getattr(module, name), ModelMixin)
    }


def add_pipeline_code(folder: str | os.PathLike) -> None:
    """Makes the saved ``StackGANPipeline`` in ``folder`` loadable by
    ``DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)``: writes ``pipeline_stackgan.py``
    and, for each component of a class of this package, ``<component>/<module>.py`` (each imports its class
    from ``stackgan_hf``), and names them in ``model_index.json``. The weights and the components' configs
    are not touched; running it twice changes nothing. ``save_pretrained`` calls it."""
    index_path = os.path.join(folder, "model_index.json")
    with open(index_path, encoding="utf-8") as file:
        index = json.load(file)
    class_name = index["_class_name"]
    class_name = class_name[1] if isinstance(class_name, list) else class_name
    if class_name != StackGANPipeline.__name__:
        raise ValueError(f"{index_path} names {class_name}, not {StackGANPipeline.__name__}.")
    classes = _component_classes()
    files = {PIPELINE_CODE_FILE: StackGANPipeline}
    for key, value in index.items():
        if key.startswith("_") or not isinstance(value, list) or len(value) != 2 or value[1] not in classes:
            continue
        component_class = classes[value[1]]
        module_file = component_class.__module__.rsplit(".", 1)[-1]
        files[os.path.join(key, f"{module_file}.py")] = component_class
        index[key] = [module_file, value[1]]
    for path, cls in files.items():
        with open(os.path.join(folder, path), "w", encoding="utf-8") as file:
            file.write(_CODE_TEMPLATE.format(module=cls.__module__, name=cls.__name__))
    index["_class_name"] = [PIPELINE_CODE_FILE.removesuffix(".py"), StackGANPipeline.__name__]
    with open(index_path, "w", encoding="utf-8") as file:
        file.write(json.dumps(index, indent=2, sort_keys=True) + "\n")  # as diffusers writes it


@contextlib.contextmanager
def _evaluation_mode(*models: torch.nn.Module | None):
    """The models in eval mode inside the block, each back in its own mode after it."""
    modes = [(model, model.training) for model in models if model is not None]
    for model, _ in modes:
        model.eval()
    try:
        yield
    finally:
        for model, training in modes:
            model.train(training)


@dataclass
class StackGANPipelineOutput(BaseOutput):
    """``images``: the final images (256x256 with Stage-II, else 64x64); ``stage1_images``: the 64x64
    Stage-I images. Each is a list of PIL images, a ``[B, H, W, 3]`` numpy array or a ``[B, 3, H, W]``
    tensor in ``[0, 1]``, following ``output_type``."""

    images: list[PIL.Image.Image] | np.ndarray | torch.Tensor
    stage1_images: list[PIL.Image.Image] | np.ndarray | torch.Tensor


class StackGANPipeline(DiffusionPipeline):
    """Text-to-image generation with StackGAN (Zhang et al., ICCV 2017).

    Args:
        stage1_generator: :class:`StackGANStage1Generator` (required).
        stage2_generator: :class:`StackGANStage2Generator` (optional): without it the pipeline returns 64x64.
        text_encoder: a transformers text model (CLIP, a sentence encoder) or a
            :class:`~stackgan_hf.text.HashedBagOfWordsEncoder` (optional): without it, pass ``prompt_embeds``
            (e.g. char-CNN-RNN embeddings).
        tokenizer: the transformers tokenizer of ``text_encoder`` (not needed by the bag-of-words encoder).
        text_pooling: how a transformers encoder's token states become one vector: ``"auto"`` (CLIP: pooled
            output; others: masked mean), ``"pooled"`` or ``"mean"``. Saved in ``model_index.json``.
    """

    model_cpu_offload_seq = "text_encoder->stage1_generator->stage2_generator"
    _optional_components = ["stage2_generator", "text_encoder", "tokenizer"]

    def __init__(
        self,
        stage1_generator: StackGANStage1Generator,
        stage2_generator: StackGANStage2Generator | None = None,
        text_encoder=None,
        tokenizer=None,
        text_pooling: str = "auto",
    ):
        super().__init__()
        if text_pooling not in POOLING_MODES:
            raise ValueError(f"text_pooling must be one of {POOLING_MODES}, got {text_pooling!r}.")
        expected = stage1_generator.config.text_embedding_dim
        if stage2_generator is not None and stage2_generator.config.text_embedding_dim != expected:
            raise ValueError(
                f"stage2_generator takes {stage2_generator.config.text_embedding_dim}-d text embeddings but "
                f"stage1_generator takes {expected}-d: both stages must use the same text encoder."
            )
        if text_encoder is not None and text_embedding_dim(text_encoder) != expected:
            raise ValueError(
                f"text_encoder {type(text_encoder).__name__} gives {text_embedding_dim(text_encoder)}-d "
                f"embeddings but stage1_generator expects {expected}-d."
            )
        self.register_modules(
            stage1_generator=stage1_generator,
            stage2_generator=stage2_generator,
            text_encoder=text_encoder,
            tokenizer=tokenizer,
        )
        self.register_to_config(text_pooling=text_pooling)
        self.image_processor = VaeImageProcessor(do_normalize=True)  # [-1, 1] -> pil / np / pt in [0, 1]

    def save_config(self, save_directory: str | os.PathLike, *args, **kwargs) -> None:
        # The last step of save_pretrained (before its upload with push_to_hub=True): the code files go too.
        super().save_config(save_directory, *args, **kwargs)
        add_pipeline_code(save_directory)

    @classmethod
    def _dict_from_json_file(cls, json_file: str | os.PathLike, **kwargs) -> dict:
        # The index as StackGANPipeline.from_pretrained reads it (DiffusionPipeline.from_pretrained reads it
        # unchanged): the plain class name, and each component of this package as its installed module, so
        # that diffusers builds the installed classes, needs no trust_remote_code and runs nothing from the
        # folder. Folders saved before add_pipeline_code existed already read this way.
        config = super()._dict_from_json_file(json_file, **kwargs)
        if isinstance(config.get("_class_name"), list):
            config["_class_name"] = config["_class_name"][1]
        classes = _component_classes()
        for key, value in config.items():
            if (
                not key.startswith("_")
                and isinstance(value, list)
                and len(value) == 2
                and value[0] not in _DIFFUSERS_LIBRARIES
                and value[1] in classes
            ):
                config[key] = [classes[value[1]].__module__, value[1]]
        return config

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs) -> StackGANPipeline:
        """Loads from a local directory or a Hub repo id.

        diffusers' own download step refuses components defined outside diffusers/transformers, so a repo
        id is first fetched with ``huggingface_hub.snapshot_download`` (safetensors, configs and tokenizer
        files only) and then loaded from that local snapshot. Hub arguments (``revision``, ``cache_dir``,
        ``token``, ``local_files_only``, ``force_download``) are honoured.
        """
        path = check_model_path(pretrained_model_name_or_path)
        if not os.path.isdir(path):
            from huggingface_hub import snapshot_download

            path = snapshot_download(
                repo_id=path,
                revision=kwargs.get("revision"),
                cache_dir=kwargs.get("cache_dir"),
                token=kwargs.get("token"),
                local_files_only=kwargs.get("local_files_only", False),
                force_download=kwargs.get("force_download", False),
                ignore_patterns=_PICKLED_WEIGHTS,
            )
        try:
            pipeline = super().from_pretrained(path, **kwargs)
        except ValueError as error:
            if "ignore_mismatched_sizes" not in str(error):
                raise
            found = re.search(r"because (.*?)\. If you want", str(error))
            detail = found.group(1) if found else error
            raise InputError(
                f"{path}: weights that do not fit their config.json ({detail}): a "
                "config.json of the folder was edited or belongs to other weights. Restore it, or save the "
                "pipeline again."
            ) from None
        # Channels-last weights make the convolutions (oneDNN, cuDNN) pick their fast NHWC kernels; the values
        # are the same, so every pipeline of these weights samples the same pixels. Done here, on the models
        # this call created, never on models a caller passes to the constructor.
        for model in (pipeline.stage1_generator, pipeline.stage2_generator):
            if model is not None:
                model.to(memory_format=torch.channels_last)
        return pipeline

    @property
    def text_embedding_dim(self) -> int:
        return self.stage1_generator.config.text_embedding_dim

    def check_inputs(
        self,
        prompt,
        prompt_embeds,
        num_images_per_prompt=1,
        generator=None,
        latents=None,
        output_type="pil",
    ) -> None:
        """Raises ``ValueError`` / ``TypeError`` naming the argument and what it expects, before any compute.

        Args:
            prompt, prompt_embeds, num_images_per_prompt, generator, latents, output_type: as in ``__call__``.
        """
        self._check_text(prompt, prompt_embeds)
        if isinstance(num_images_per_prompt, bool) or not isinstance(
            num_images_per_prompt, (int, np.integer)
        ):
            raise TypeError(
                "`num_images_per_prompt` must be an int (at least 1), got "
                f"{type(num_images_per_prompt).__name__} {num_images_per_prompt!r}."
            )
        if num_images_per_prompt < 1:
            raise ValueError(f"`num_images_per_prompt` must be at least 1, got {num_images_per_prompt}.")
        generators = generator if isinstance(generator, list) else [generator]
        if not all(g is None or isinstance(g, torch.Generator) for g in generators) or (
            isinstance(generator, list) and (not generator or None in generator)
        ):
            raise TypeError(
                "`generator` must be a torch.Generator or a list of them (one per image), got "
                f"{type(generator).__name__}; e.g. torch.Generator().manual_seed(0)."
            )
        if latents is not None and not isinstance(latents, torch.Tensor):
            raise TypeError(
                f"`latents` must be a torch.Tensor of shape [N, {self.stage1_generator.config.noise_dim}], "
                f"got {type(latents).__name__}; e.g. torch.from_numpy(array).float()."
            )
        if output_type not in ("pil", "np", "pt"):
            raise ValueError(f"`output_type` must be 'pil', 'np' or 'pt', got {output_type!r}.")

    def _check_text(self, prompt, prompt_embeds) -> None:
        """The checks of ``prompt`` and ``prompt_embeds`` (exactly one; the right type, width and values)."""
        if prompt is None and prompt_embeds is None:
            raise ValueError("Pass either `prompt` (text) or `prompt_embeds` (a [B, D] tensor); got neither.")
        if prompt is not None and prompt_embeds is not None:
            raise ValueError("Pass either `prompt` or `prompt_embeds`, not both.")
        if prompt is not None:
            prompts = [prompt] if isinstance(prompt, str) else prompt
            if not isinstance(prompts, (list, tuple)) or not all(isinstance(p, str) for p in prompts):
                raise TypeError(
                    f"`prompt` must be a string or a list of strings, got {type(prompt).__name__}."
                )
            if not prompts or any(not p.strip() for p in prompts):
                raise ValueError(
                    "`prompt` is empty: describe the bird, e.g. 'a small bird with a red crown'."
                )
            if self.text_encoder is None:
                raise ValueError(
                    "This pipeline has no text encoder, so it cannot read `prompt`: pass `prompt_embeds` "
                    f"([B, {self.text_embedding_dim}] text embeddings, e.g. char-CNN-RNN) instead."
                )
            return
        if not isinstance(prompt_embeds, torch.Tensor):
            raise TypeError(
                f"`prompt_embeds` must be a torch.Tensor of shape [B, {self.text_embedding_dim}], got "
                f"{type(prompt_embeds).__name__}; e.g. torch.from_numpy(array).float()."
            )
        if (
            prompt_embeds.ndim != 2
            or prompt_embeds.shape[0] == 0
            or prompt_embeds.shape[1] != self.text_embedding_dim
        ):
            raise ValueError(
                f"`prompt_embeds` must be a tensor of shape [B, {self.text_embedding_dim}] (the generator's "
                f"text_embedding_dim), got {list(prompt_embeds.shape)}."
            )
        if not prompt_embeds.is_floating_point() or not torch.isfinite(prompt_embeds).all():
            raise ValueError(
                f"`prompt_embeds` must hold finite floating-point values, got {prompt_embeds.dtype}"
                f"{'' if not prompt_embeds.is_floating_point() else ' with NaN or infinite values'}."
            )

    def encode_prompt(self, prompt: str | list[str], device: torch.device) -> torch.Tensor:
        """``B`` prompts -> ``[B, D]`` embeddings with the pipeline's text encoder."""
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        return encode_prompts(
            prompts, self.text_encoder, self.tokenizer, pooling=self.config.text_pooling, device=device
        )

    def prepare_latents(
        self,
        batch_size: int,
        generator: torch.Generator | list[torch.Generator] | None,
        device: torch.device,
        dtype: torch.dtype,
        latents: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The noise ``z`` ``[batch_size, noise_dim]``: the caller's ``latents`` or a seeded draw."""
        shape = (batch_size, self.stage1_generator.config.noise_dim)
        if isinstance(generator, list) and len(generator) != batch_size:
            raise ValueError(
                f"You passed a list of {len(generator)} generators but the batch has {batch_size} images "
                "(prompts x num_images_per_prompt): pass one generator per image, or a single one."
            )
        if latents is None:
            return randn_tensor(shape, generator=generator, device=device, dtype=dtype)
        if tuple(latents.shape) != shape:
            raise ValueError(
                f"`latents` must have shape {list(shape)} (prompts x num_images_per_prompt, noise_dim), got "
                f"{list(latents.shape)}."
            )
        if not latents.is_floating_point():
            raise ValueError(f"`latents` must be a floating-point tensor, got {latents.dtype}.")
        return latents.to(device=device, dtype=dtype)

    @torch.no_grad()
    def __call__(
        self,
        prompt: str | list[str] | None = None,
        prompt_embeds: torch.Tensor | None = None,
        num_images_per_prompt: int = 1,
        generator: torch.Generator | list[torch.Generator] | None = None,
        latents: torch.Tensor | None = None,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> StackGANPipelineOutput | tuple:
        """Generates ``num_images_per_prompt`` images for each prompt (or each row of ``prompt_embeds``).

        Args:
            prompt: a caption or a list of captions; needs a text encoder.
            prompt_embeds: ``[B, D]`` precomputed text embeddings (e.g. char-CNN-RNN), instead of ``prompt``.
            num_images_per_prompt: images per caption, each with its own noise and CA sample.
            generator: seeds the noise ``z`` and both stages' conditioning augmentation: the same seed gives
                the same pixels. A list needs one generator per image.
            latents: ``[N, noise_dim]`` noise ``z`` (N = prompts x ``num_images_per_prompt``) instead of a
                draw, e.g. to interpolate between two captions with the same ``z`` as in the paper's figures.
            output_type: ``"pil"``, ``"np"`` (``[N, H, W, 3]``) or ``"pt"`` (``[N, 3, H, W]``), in ``[0, 1]``.

        Returns:
            :class:`StackGANPipelineOutput` (or ``(images, stage1_images)`` with ``return_dict=False``).
        """
        self.check_inputs(prompt, prompt_embeds, num_images_per_prompt, generator, latents, output_type)
        device = self._execution_device
        dtype = self.stage1_generator.dtype

        # 1. Text -> one embedding per image.
        if prompt_embeds is None:
            prompt_embeds = self.encode_prompt(prompt, device)
        text_embeddings = prompt_embeds.to(device=device, dtype=dtype).repeat_interleave(
            num_images_per_prompt, 0
        )

        # 2. Noise z.
        noise = self.prepare_latents(text_embeddings.shape[0], generator, device, dtype, latents)

        # 3. Stage-I sketches at 64x64; Stage-II refines to 256x256. BatchNorm uses its running statistics,
        # whatever mode the caller's models are in; their mode is restored afterwards.
        with _evaluation_mode(self.stage1_generator, self.stage2_generator):
            stage1_images = self.stage1_generator(text_embeddings, noise, generator=generator).images
            images = stage1_images
            if self.stage2_generator is not None:
                images = self.stage2_generator(stage1_images, text_embeddings, generator=generator).images

        # 4. Postprocess.
        images = self.image_processor.postprocess(images.float(), output_type=output_type)
        stage1_images = self.image_processor.postprocess(stage1_images.float(), output_type=output_type)
        self.maybe_free_model_hooks()
        if not return_dict:
            return images, stage1_images
        return StackGANPipelineOutput(images=images, stage1_images=stage1_images)

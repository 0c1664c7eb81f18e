"""Class-conditional DDPM with classifier-free guidance (Ho & Salimans 2022): a named option, off by default.

The paper's DDPM (Ho et al. 2020) is unconditional, and ``configs/ddpm/mnist_cpu.yaml`` stays so. With
``class_conditional: true`` the trainer gives diffusers' ``UNet2DModel`` a class embedding
(``num_class_embeds = 11``: the ten digits and one "no class" index, ``NULL_CLASS``) that is added to the
timestep embedding, and replaces each training label by ``NULL_CLASS`` with probability
``class_dropout_prob``, so that one network learns both eps(x_t, c) and eps(x_t). Sampling then follows

    eps = eps(x_t) + guidance_scale * (eps(x_t, c) - eps(x_t))

(diffusers' convention: 1 is the plain conditional model, larger values trade diversity for fidelity; Ho &
Salimans' w is ``guidance_scale - 1``). ``DDPMPipeline`` has no class labels, hence this pipeline; its
components are the stock ``UNet2DModel`` and ``DDPMScheduler`` (or ``DDIMScheduler``).

A saved folder carries this file: ``save_pretrained`` copies it in as ``pipeline.py`` and names it in
``model_index.json`` as ``"_class_name": ["pipeline", "<class>"]``, diffusers' format for a pipeline whose
code travels with its weights. So ``DiffusionPipeline.from_pretrained(folder or Hub repo,
trust_remote_code=True)`` loads it without this package (the file needs only torch and diffusers), and the
classes' own ``from_pretrained`` reads the same folder with the installed code, running nothing from the
folder. ``add_pipeline_code(folder)`` does the same for a folder saved before.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import shutil

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput, UNet2DModel
from diffusers.utils.torch_utils import randn_tensor

NUM_DIGITS = 10
NULL_CLASS = NUM_DIGITS  # the "no class" index of the class embedding (classifier-free guidance)

# The name of this file in a saved folder; diffusers imports it from there with trust_remote_code=True.
PIPELINE_CODE_FILE = "pipeline.py"


def add_pipeline_code(folder: str | os.PathLike, class_name: str | None = None) -> None:
    """Makes the saved pipeline ``folder`` loadable by ``DiffusionPipeline.from_pretrained(folder,
    trust_remote_code=True)``: copies this file into it as ``pipeline.py`` and names it in
    ``model_index.json`` (``"_class_name": ["pipeline", class_name]``). ``class_name`` defaults to the one the
    index names. The weights and the components' configs are not touched; running it twice changes
    nothing."""
    index_path = os.path.join(folder, "model_index.json")
    with open(index_path, encoding="utf-8") as file:
        index = json.load(file)
    if class_name is None:
        class_name = index["_class_name"]
        class_name = class_name[1] if isinstance(class_name, list) else class_name
    if class_name not in (ClassConditionalDDPMPipeline.__name__, AutoGuidedDDPMPipeline.__name__):
        raise ValueError(f"{index_path} names {class_name}, which is not a pipeline of {__name__}.")
    target = os.path.join(folder, PIPELINE_CODE_FILE)
    if not (os.path.exists(target) and os.path.samefile(__file__, target)):
        shutil.copyfile(__file__, target)
    index["_class_name"] = [PIPELINE_CODE_FILE.removesuffix(".py"), class_name]
    with open(index_path, "w", encoding="utf-8") as file:
        file.write(json.dumps(index, indent=2, sort_keys=True) + "\n")  # as diffusers writes it


class _CodeInFolder:
    """Mixed into the pipelines of this file: their folders carry this file (``add_pipeline_code``)."""

    def save_config(self, save_directory: str | os.PathLike, *args, **kwargs) -> None:
        # The last step of save_pretrained (before its upload with push_to_hub=True): the code is pushed too.
        super().save_config(save_directory, *args, **kwargs)
        add_pipeline_code(save_directory, type(self).__name__)

    @classmethod
    def _dict_from_json_file(cls, json_file: str | os.PathLike, **kwargs) -> dict:
        # The index read by ClassConditionalDDPMPipeline.from_pretrained & co. (not by DiffusionPipeline's):
        # ["pipeline", name] as the plain name, so that diffusers builds this installed class and neither
        # needs trust_remote_code nor runs the folder's copy of it.
        config = super()._dict_from_json_file(json_file, **kwargs)  # diffusers 0.32-0.40: dduf_entries
        if isinstance(config.get("_class_name"), list):
            config["_class_name"] = config["_class_name"][1]
        return config


OUTPUT_TYPES = ("pil", "np", "pt")


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_int(name: str, value, minimum: int = 1, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__} {value!r}.")
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f"at least {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"`{name}` must be {bounds}, got {value}.")


def check_inputs(
    pipeline: DiffusionPipeline,
    batch_size: int,
    guidance_scale: float,
    num_inference_steps: int,
    generator,
    eta: float,
    output_type: str,
) -> None:
    """The arguments the DDPM pipelines of this file share, checked before any step (diffusers'
    ``check_inputs``): ``TypeError`` for a wrong type, ``ValueError`` for a value out of range, each naming
    the argument and what it expects."""
    for name, value in (("guidance_scale", guidance_scale), ("eta", eta)):
        if not _is_number(value):
            raise TypeError(f"`{name}` must be a float, got {type(value).__name__} {value!r}.")
        if not (math.isfinite(value) and value >= 0):
            raise ValueError(f"`{name}` must be a number >= 0, got {value}.")
    steps = pipeline.scheduler.config.num_train_timesteps
    _check_int("num_inference_steps", num_inference_steps, 1, steps)
    generators = generator if isinstance(generator, list) else [generator]
    if generator is not None and not all(isinstance(item, torch.Generator) for item in generators):
        raise TypeError(
            f"`generator` must be a torch.Generator, a list of them or None, got {type(generator).__name__}."
        )
    if isinstance(generator, list) and len(generator) != batch_size:
        raise ValueError(
            f"`generator` is a list of {len(generator)} generators; expected one per image ({batch_size})."
        )
    if output_type not in OUTPUT_TYPES:
        raise ValueError(f"`output_type` must be one of {list(OUTPUT_TYPES)}, got {output_type!r}.")


def check_class_labels(class_labels) -> torch.Tensor:
    """``class_labels`` (an int, a list of ints or an integer tensor or array of digits 0-9) as a 1-D long
    tensor; ``TypeError`` for anything but integers, ``ValueError`` for an empty list or a label outside
    0-9."""
    if isinstance(class_labels, (list, tuple)):
        bad = [label for label in class_labels if isinstance(label, bool) or not isinstance(label, int)]
        if bad:
            raise TypeError(f"`class_labels` must be ints (digits 0-{NUM_DIGITS - 1}), got {bad[0]!r}.")
    elif isinstance(class_labels, int) and not isinstance(class_labels, bool):
        class_labels = [class_labels]
    elif hasattr(class_labels, "dtype") and hasattr(class_labels, "shape"):  # a tensor or a numpy array
        labels = torch.as_tensor(class_labels)
        if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
            raise TypeError(f"`class_labels` must hold integers, got a tensor of {labels.dtype}.")
        class_labels = labels.reshape(-1).tolist()
    else:
        raise TypeError(
            f"`class_labels` must be an int, a list of ints or an integer tensor, got "
            f"{type(class_labels).__name__}."
        )
    labels = torch.tensor(class_labels, dtype=torch.long).reshape(-1)
    if labels.numel() == 0 or labels.min() < 0 or labels.max() >= NUM_DIGITS:
        raise ValueError(f"class_labels must be digits 0-{NUM_DIGITS - 1}; got {labels.tolist()}.")
    return labels


def drop_labels(labels: torch.Tensor, probability: float, generator: torch.Generator) -> torch.Tensor:
    """``labels`` with each one replaced by ``NULL_CLASS`` with ``probability`` (drawn from ``generator``)."""
    dropped = torch.rand(labels.shape, generator=generator).to(labels.device) < probability
    return torch.where(dropped, torch.full_like(labels, NULL_CLASS), labels)


def digit_labels(start: int, count: int) -> torch.Tensor:
    """The classes asked for samples ``start .. start + count - 1``: sample i draws digit ``i % 10`` (each
    row of a 10-wide grid reads 0 to 9, and any 10 consecutive samples hold every digit once)."""
    return torch.arange(start, start + count) % NUM_DIGITS


def guided_prediction(
    unet: UNet2DModel, sample: torch.Tensor, t: torch.Tensor, labels: torch.Tensor, guidance_scale: float
) -> torch.Tensor:
    """The UNet's output for ``labels`` with classifier-free guidance (one batched pass over the labelled
    and the null-class copies); ``guidance_scale`` 1: the conditional output alone, one pass."""
    if guidance_scale == 1.0:
        return unet(sample, t, class_labels=labels).sample
    null = torch.full_like(labels, NULL_CLASS)
    conditional, unconditional = unet(
        torch.cat([sample, sample]), t, class_labels=torch.cat([labels, null])
    ).sample.chunk(2)
    return unconditional + guidance_scale * (conditional - unconditional)


def add_class_embedding(unet: UNet2DModel) -> UNet2DModel:
    """An unconditional ``unet`` with a class embedding for the ten digits and ``NULL_CLASS``, initialized
    to zero: the new model predicts exactly what ``unet`` did, for every label, until it is trained."""
    if unet.config.num_class_embeds is not None:
        if unet.config.num_class_embeds != NUM_DIGITS + 1:
            raise ValueError(
                f"the UNet has {unet.config.num_class_embeds} class embeddings; expected {NUM_DIGITS + 1}."
            )
        return unet
    # Private keys dropped: diffusers re-applies the defaults listed in "_use_default_values".
    config = {key: value for key, value in unet.config.items() if not key.startswith("_")}
    conditional = UNet2DModel.from_config({**config, "num_class_embeds": NUM_DIGITS + 1})
    missing, unexpected = conditional.load_state_dict(unet.state_dict(), strict=False)
    if missing != ["class_embedding.weight"] or unexpected:
        raise ValueError(f"unexpected UNet layout: missing {missing}, unexpected {unexpected}")
    torch.nn.init.zeros_(conditional.class_embedding.weight)
    return conditional


class ClassConditionalDDPMPipeline(_CodeInFolder, DiffusionPipeline):
    """Digits of the asked classes, ancestral DDPM or DDIM (whichever scheduler it holds), with guidance."""

    model_cpu_offload_seq = "unet"

    def __init__(self, unet: UNet2DModel, scheduler):
        super().__init__()
        if unet.config.num_class_embeds != NUM_DIGITS + 1:
            raise ValueError(
                "ClassConditionalDDPMPipeline needs a UNet with num_class_embeds = 11 (ten digits and the "
                f"null class); got {unet.config.num_class_embeds}."
            )
        self.register_modules(unet=unet, scheduler=scheduler)

    @torch.no_grad()
    def __call__(
        self,
        class_labels: list[int] | torch.Tensor,
        guidance_scale: float = 2.0,
        num_inference_steps: int = 1000,
        generator: torch.Generator | None = None,
        eta: float = 0.0,
        use_clipped_model_output: bool = True,
        output_type: str = "pil",
        return_dict: bool = True,
    ) -> ImagePipelineOutput | tuple:
        """One image per entry of ``class_labels`` (digits 0-9); ``guidance_scale`` 1 disables guidance
        (one UNet pass per step instead of two). ``eta`` and ``use_clipped_model_output`` are used by a DDIM
        scheduler only. The latter re-derives the noise from the clipped x_0 (Glide's rule); it is on here,
        unlike in diffusers' ``DDIMPipeline``, because a DDIM step that pairs the clipped x_0 with the
        unclipped noise draws broken digits under guidance, which enlarges the class-dependent part of the
        noise (``results/ddpm_mnist/class_conditional/``)."""
        labels = check_class_labels(class_labels).to(self._execution_device)
        check_inputs(self, len(labels), guidance_scale, num_inference_steps, generator, eta, output_type)
        image = denoise(
            self,
            lambda sample, t: guided_prediction(self.unet, sample, t, labels, guidance_scale),
            len(labels),
            num_inference_steps,
            generator,
            eta,
            use_clipped_model_output,
        )
        return finish(self, image, output_type, return_dict)


def denoise(
    pipeline: DiffusionPipeline,
    predict,
    batch_size: int,
    num_inference_steps: int,
    generator: torch.Generator | None,
    eta: float,
    use_clipped_model_output: bool,
) -> torch.Tensor:
    """The reverse process of ``pipeline``'s scheduler (ancestral DDPM or DDIM) from Gaussian noise of the
    UNet's shape, ``predict(x_t, t)`` giving the noise prediction of each step; x_0 in [-1, 1]."""
    size = pipeline.unet.config.sample_size
    shape = (batch_size, pipeline.unet.config.in_channels, size, size)
    image = randn_tensor(
        shape, generator=generator, device=pipeline._execution_device, dtype=pipeline.unet.dtype
    )
    step_kwargs = {"generator": generator}
    if "eta" in inspect.signature(pipeline.scheduler.step).parameters:
        step_kwargs.update(eta=eta, use_clipped_model_output=use_clipped_model_output)
    pipeline.scheduler.set_timesteps(num_inference_steps)
    for t in pipeline.progress_bar(pipeline.scheduler.timesteps):
        image = pipeline.scheduler.step(predict(image, t), t, image, **step_kwargs).prev_sample
    return image


def finish(
    pipeline: DiffusionPipeline, image: torch.Tensor, output_type: str, return_dict: bool
) -> ImagePipelineOutput | tuple:
    """The images in [0, 1] as ``output_type`` ("pil", "np" or "pt"), the way diffusers' pipelines return."""
    image = (image / 2 + 0.5).clamp(0, 1)
    if output_type != "pt":
        image = image.cpu().permute(0, 2, 3, 1).numpy()
        if output_type == "pil":
            image = pipeline.numpy_to_pil(image)
    pipeline.maybe_free_model_hooks()
    return ImagePipelineOutput(images=image) if return_dict else (image,)


def check_guidance_interval(guidance_interval: tuple[float, float] | None) -> None:
    """Refuses an interval that is not two numbers ``(low, high)`` (``TypeError``) or holds no timestep
    because ``low >= high`` (``ValueError``)."""
    if guidance_interval is None:
        return
    if not (
        isinstance(guidance_interval, (list, tuple))
        and len(guidance_interval) == 2
        and all(_is_number(value) for value in guidance_interval)
    ):
        raise TypeError(
            f"guidance_interval must be a tuple (low, high) of two numbers; got {guidance_interval!r}."
        )
    if not guidance_interval[0] < guidance_interval[1]:
        raise ValueError(f"guidance_interval must be (low, high) with low < high; got {guidance_interval}.")


def in_guidance_interval(t: torch.Tensor | int, guidance_interval: tuple[float, float] | None) -> bool:
    """Whether timestep ``t`` lies in ``(low, high]`` (every timestep when ``guidance_interval`` is None)."""
    if guidance_interval is None:
        return True
    low, high = guidance_interval
    return low < int(t) <= high


def autoguided_prediction(
    unet: UNet2DModel,
    guide_unet: UNet2DModel,
    sample: torch.Tensor,
    t: torch.Tensor,
    guidance_scale: float,
    guidance_interval: tuple[float, float] | None = None,
) -> torch.Tensor:
    """Autoguidance (Karras et al. 2024): ``guide + guidance_scale * (main - guide)``, the main model's noise
    prediction pushed away from a weaker model's; ``guidance_scale`` 1, or a timestep outside
    ``guidance_interval``: the main model alone, one pass."""
    main = unet(sample, t).sample
    if guidance_scale == 1.0 or not in_guidance_interval(t, guidance_interval):
        return main
    guide = guide_unet(sample, t).sample
    return guide + guidance_scale * (main - guide)


# The scheduler settings two models must share for one to guide the other (the same forward process).
SCHEDULE_KEYS = ("num_train_timesteps", "beta_schedule", "beta_start", "beta_end", "prediction_type")


class AutoGuidedDDPMPipeline(_CodeInFolder, DiffusionPipeline):
    """An unconditional DDPM guided by a smaller, less trained version of itself: autoguidance (Karras et al.
    2024, "Guiding a diffusion model with a bad version of itself"), a named option, off by default.

    Both UNets are stock unconditional ``UNet2DModel``s trained on the same data with the same noise
    schedule; the guide (``configs/ddpm/mnist_cpu_guide.yaml``) is a narrower network trained for a fraction
    of the steps. Each step uses ``guide + guidance_scale * (main - guide)``: where the guide's prediction
    differs from the main model's, it is usually the guide being worse, and extrapolating away from it
    removes the low-probability (malformed) samples both models draw, without labels and without the loss of
    diversity of classifier-free guidance. Build one from two trained ``DDPMPipeline`` folders with
    ``AutoGuidedDDPMPipeline.from_pipelines``; ``save_pretrained`` writes a diffusers folder that carries this
    file (see the module's docstring).
    """

    model_cpu_offload_seq = "unet->guide_unet"

    def __init__(self, unet: UNet2DModel, guide_unet: UNet2DModel, scheduler):
        super().__init__()
        for name, model in (("unet", unet), ("guide_unet", guide_unet)):
            if model.config.num_class_embeds is not None:
                raise ValueError(
                    f"AutoGuidedDDPMPipeline needs unconditional UNets; {name} has class embeddings."
                )
        shape_keys = ("sample_size", "in_channels", "out_channels")
        if any(unet.config[key] != guide_unet.config[key] for key in shape_keys):
            raise ValueError(
                "the guide UNet must take and return the main UNet's images: "
                + ", ".join(f"{key} {unet.config[key]} vs {guide_unet.config[key]}" for key in shape_keys)
            )
        self.register_modules(unet=unet, guide_unet=guide_unet, scheduler=scheduler)

    @classmethod
    def from_pipelines(cls, main: DiffusionPipeline, guide: DiffusionPipeline) -> AutoGuidedDDPMPipeline:
        """The main pipeline's UNet and scheduler guided by ``guide``'s UNet (two ``DDPMPipeline``s trained
        with the same noise schedule)."""
        for name, pipeline in (("main", main), ("guide", guide)):
            if not (
                isinstance(getattr(pipeline, "unet", None), UNet2DModel) and hasattr(pipeline, "scheduler")
            ):
                raise TypeError(
                    f"`{name}` must be a DDPMPipeline (with a UNet2DModel `unet` and a `scheduler`), got "
                    f"{type(pipeline).__name__}."
                )
        different = [
            key for key in SCHEDULE_KEYS if main.scheduler.config[key] != guide.scheduler.config[key]
        ]
        if different:
            raise ValueError(
                "the guide was trained with another noise schedule: "
                + ", ".join(
                    f"{key} {main.scheduler.config[key]} vs {guide.scheduler.config[key]}"
                    for key in different
                )
            )
        return cls(unet=main.unet, guide_unet=guide.unet, scheduler=main.scheduler)

    @torch.no_grad()
    def __call__(
        self,
        batch_size: int = 1,
        guidance_scale: float = 2.0,
        num_inference_steps: int = 1000,
        generator: torch.Generator | None = None,
        eta: float = 0.0,
        use_clipped_model_output: bool = True,
        output_type: str = "pil",
        return_dict: bool = True,
        guidance_interval: tuple[float, float] | None = None,
    ) -> ImagePipelineOutput | tuple:
        """``batch_size`` digits; ``guidance_scale`` 1 is the main model alone (one UNet pass per step).
        ``guidance_interval`` ``(low, high)``: guide only the steps with ``low < t <= high`` in training
        timesteps (0-999), the main model alone elsewhere (Kynkaanniemi et al. 2024: guidance at the highest
        noise levels narrows the mix of what is drawn, at the lowest it does little); None guides every step.
        ``eta`` and ``use_clipped_model_output`` are used by a DDIM scheduler only (the latter on, as in
        ``ClassConditionalDDPMPipeline``: guidance enlarges the mismatch between diffusers' clipped x_0 and
        its unclipped noise)."""
        _check_int("batch_size", batch_size)
        check_inputs(self, batch_size, guidance_scale, num_inference_steps, generator, eta, output_type)
        check_guidance_interval(guidance_interval)
        image = denoise(
            self,
            lambda sample, t: autoguided_prediction(
                self.unet, self.guide_unet, sample, t, guidance_scale, guidance_interval
            ),
            batch_size,
            num_inference_steps,
            generator,
            eta,
            use_clipped_model_output,
        )
        return finish(self, image, output_type, return_dict)

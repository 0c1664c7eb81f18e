"""Class-conditional DDPM with classifier-free guidance (Ho & Salimans 2022): a named option, off by default.

The paper's DDPM (Ho et al. 2020) is unconditional, and ``configs/ddpm/mnist_cpu.yaml`` stays so. With
``class_conditional: true`` the trainer gives diffusers' ``UNet2DModel`` a class embedding
(``num_class_embeds = 11``: the ten digits and one "no class" index, ``NULL_CLASS``) that is added to the
timestep embedding, and replaces each training label by ``NULL_CLASS`` with probability
``class_dropout_prob``, so that one network learns both eps(x_t, c) and eps(x_t). Sampling then follows

    eps = eps(x_t) + guidance_scale * (eps(x_t, c) - eps(x_t))

(diffusers' convention: 1 is the plain conditional model, larger values trade diversity for fidelity; Ho &
Salimans' w is ``guidance_scale - 1``). ``DDPMPipeline`` has no class labels, hence this pipeline; its
components are the stock ``UNet2DModel`` and ``DDPMScheduler`` (or ``DDIMScheduler``), so a saved folder
is a normal diffusers directory that ``ClassConditionalDDPMPipeline.from_pretrained`` loads.
"""

from __future__ import annotations

import inspect

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput, UNet2DModel
from diffusers.utils.torch_utils import randn_tensor

NUM_DIGITS = 10
NULL_CLASS = NUM_DIGITS  # the "no class" index of the class embedding (classifier-free guidance)


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
    """An unconditional ``unet`` with a class embedding for the ten digits and ``NULL_CLASS``, initialised
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


class ClassConditionalDDPMPipeline(DiffusionPipeline):
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
        device = self._execution_device
        labels = torch.as_tensor(class_labels, dtype=torch.long, device=device).reshape(-1)
        if labels.numel() == 0 or labels.min() < 0 or labels.max() >= NUM_DIGITS:
            raise ValueError(f"class_labels must be digits 0-{NUM_DIGITS - 1}; got {labels.tolist()}.")
        size = self.unet.config.sample_size
        shape = (len(labels), self.unet.config.in_channels, size, size)
        image = randn_tensor(shape, generator=generator, device=device, dtype=self.unet.dtype)
        step_kwargs = {"generator": generator}
        if "eta" in inspect.signature(self.scheduler.step).parameters:
            step_kwargs.update(eta=eta, use_clipped_model_output=use_clipped_model_output)
        self.scheduler.set_timesteps(num_inference_steps)
        for t in self.progress_bar(self.scheduler.timesteps):
            prediction = guided_prediction(self.unet, image, t, labels, guidance_scale)
            image = self.scheduler.step(prediction, t, image, **step_kwargs).prev_sample
        image = (image / 2 + 0.5).clamp(0, 1)
        if output_type != "pt":
            image = image.cpu().permute(0, 2, 3, 1).numpy()
            if output_type == "pil":
                image = self.numpy_to_pil(image)
        self.maybe_free_model_hooks()
        return ImagePipelineOutput(images=image) if return_dict else (image,)

"""Denoising diffusion (DDPM, Ho et al. 2020) on MNIST with diffusers' UNet2DModel and DDPMScheduler.

- ``diffusion.data``: MNIST from ``ylecun/mnist`` or a folder of parquet files, as [-1, 1] tensors;
- ``diffusion.train``: ``DDPMTrainingConfig`` and ``train(config)`` (accelerate; output: a ``DDPMPipeline``);
- ``diffusion.pipeline``: the class-conditional option, ``ClassConditionalDDPMPipeline`` (classifier-free
  guidance), with its label dropout and zero-initialized class embedding;
- ``diffusion.sampling``: DDPM or DDIM sampling of a trained directory;
- ``diffusion.visualize``: the report (forward/reverse process, samples, metrics).
- ``diffusion.evaluation``: FID, classifier score and digit histogram of samples (an MNIST classifier).
"""

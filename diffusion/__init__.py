"""Denoising diffusion (DDPM, Ho et al. 2020) on MNIST with diffusers' UNet2DModel and DDPMScheduler."""

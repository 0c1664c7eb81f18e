"""Datasets: CUB-200-2011 (StackGAN layout), synthetic birds, any Hub dataset; the shared training view."""

from .cub import BuildReport, CubFormatError, build_cub_dataset, prepare_cub, stackgan_crop_box
from .loading import SYNTHETIC_BIRDS, load_stackgan_dataset
from .safe_pickle import UnsafePickleError, load_pickle
from .transforms import StackGANTrainingView, collate_training_batch, preresize_images

__all__ = [
    "SYNTHETIC_BIRDS",
    "BuildReport",
    "CubFormatError",
    "StackGANTrainingView",
    "preresize_images",
    "UnsafePickleError",
    "build_cub_dataset",
    "collate_training_batch",
    "load_pickle",
    "load_stackgan_dataset",
    "prepare_cub",
    "stackgan_crop_box",
]

"""StackGAN training: configuration, losses and the accelerate loop."""

from .config import StackGANTrainingConfig
from .trainer import TrainingDivergedError, train, train_stage

__all__ = ["StackGANTrainingConfig", "TrainingDivergedError", "train", "train_stage"]

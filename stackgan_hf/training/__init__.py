"""StackGAN training: configuration, losses and the accelerate loop."""

from ..utils.training_utils import TrainingDivergedError
from .config import StackGANTrainingConfig
from .trainer import train, train_stage

__all__ = ["StackGANTrainingConfig", "TrainingDivergedError", "train", "train_stage"]

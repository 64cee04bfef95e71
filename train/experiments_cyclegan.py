"""The two-domain UTKFace CycleGAN's named configurations (`../shared/reference/ganimation_cyclegan.md` part C)."""

from train.experiment import Experiment

CYCLEGAN_EXPERIMENTS: tuple[Experiment, ...] = ()

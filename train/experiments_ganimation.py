"""GANimation's named configurations (`../shared/reference/ganimation_cyclegan.md` parts A, B)."""

from train.experiment import Experiment

GANIMATION_EXPERIMENTS: tuple[Experiment, ...] = ()

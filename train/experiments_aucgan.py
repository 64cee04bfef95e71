"""The AU-conditioned family's experiments e1..e9 (`../shared/reference/au_gan.md`)."""

from train.experiment import Experiment

AUCGAN_EXPERIMENTS: tuple[Experiment, ...] = ()

"""The classifier family's experiments: the original's two ResNet50 classifiers (`../shared/reference/ccyclegan.md` §6)."""

from train.experiment import Experiment

CLASSIFIER_EXPERIMENTS = (
    Experiment("C1", "classifier", "the original ResNet50 label-match classifier (classifier.py): [label, image] -> "
               "match / no match", None, {"arch": "c1"}),
    Experiment("C2", "classifier", "the original ResNet50 7-way classifier (classifier2.py)", None, {"arch": "c2"}),
)

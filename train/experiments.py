"""Every runnable experiment by name, across families: `python train.py --experiment T25` picks its family.

An experiment is a set of settings over its parent's (and so over its family's defaults), written as the difference
the lineage made. Settings are command-line destinations (e.g. `d_g_ratio`, `arch`), applied as parser defaults so
that flags given explicitly still win. Facts of the originals: `../shared/reference/ccyclegan.md` §2.5 and §4
(T24-T26) and §6 (C1, C2).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ccyclegan.errors import UsageError


@dataclass(frozen=True)
class Experiment:
    id: str
    family: str
    about: str  # one line: what the experiment is, as its code did it
    parent: str | None = None
    settings: dict = field(default_factory=dict)


_ALL = (
    Experiment("T24", "ccyclegan", "all 6 other expressions per sample; six sequential B-sized G updates, d_g_ratio 1, "
               "weights 1, 600 epochs", None,
               {"g_step": "sequential", "d_g_ratio": 1, "epochs": 600, "g_gan_loss_w": 1, "g_cl_loss_w": 1,
                "rec_loss_w": 1}),
    Experiment("T25", "ccyclegan", "T24 with one G update on all 6B translations, 200 epochs", "T24",
               {"g_step": "batched", "epochs": 200}),
    Experiment("T26", "ccyclegan", "the final model: G weights 2/2/1 (adversarial/expression/reconstruction), "
               "d_g_ratio 5, 170 epochs (the family's defaults)", "T25",
               {"d_g_ratio": 5, "epochs": 170, "g_gan_loss_w": 2, "g_cl_loss_w": 2}),
    Experiment("quickstart", "ccyclegan", "not in the log: a CPU preset of T26 that shows the product in about 10 "
               "minutes on 2 cores (half widths, attention mask, one epoch at batch 24, then an evaluation)", "T26",
               {"gf": 32, "df": 32, "d_g_ratio": 1, "adam_lr": 0.0005, "g_gan_loss_w": 1, "g_cl_loss_w": 5,
                "rec_loss_w": 10, "attention_mask": True, "decoder_edge": "replicate",
                "lr_schedule": "linear-decay", "batch_size": 24, "epochs": 1, "sample_interval": 400,
                "evaluate_after": True, "eval_n": 300}),
    Experiment("C1", "classifier", "the original ResNet50 label-match classifier (classifier.py): [label, image] -> "
               "match / no match", None, {"arch": "c1"}),
    Experiment("C2", "classifier", "the original ResNet50 7-way classifier (classifier2.py)", None, {"arch": "c2"}),
)
EXPERIMENTS = {experiment.id: experiment for experiment in _ALL}
LATER = "T1..T23 and T27 (the lineage issue), e1..e9 (the AU family)"


def find_experiment(name: str) -> Experiment:
    """The experiment `name` (case-insensitive), or a usage error listing what can be run."""
    by_key = {key.lower(): experiment for key, experiment in EXPERIMENTS.items()}
    if name.lower() not in by_key:
        raise UsageError(f"experiment {name!r} cannot be run by name yet; runnable: {', '.join(EXPERIMENTS)} "
                         f"(`--list-experiments` describes each; still to come: {LATER})")
    return by_key[name.lower()]


def experiment_settings(name: str) -> dict:
    """The settings of experiment `name`: its parent's (recursively), then its own."""
    experiment = find_experiment(name)
    inherited = experiment_settings(experiment.parent) if experiment.parent else {}
    return {**inherited, **experiment.settings}


def experiment_table() -> str:
    """One table of every runnable experiment: id, family, parent, what it is."""
    rows = [("id", "family", "parent", "description")]
    rows += [(e.id, e.family, e.parent or "-", e.about) for e in EXPERIMENTS.values()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths)) + "  " + row[3] for row in rows]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])

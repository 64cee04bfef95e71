"""The template family of docs/extending.md trains through the platform from the command line, so the guide
cannot go stale; and the experiment registry spans families."""

import csv
import json

import keras
import pytest

from tests.helpers import load_train_script, write_fer_csv


def test_the_template_family_trains_two_steps_through_the_platform(tmp_path, capsys):
    data = write_fer_csv(tmp_path / "fer.csv", 64)
    out = tmp_path / "run"
    code = load_train_script().main(["--family", "template", "--dataset", "fer2013", "--data", str(data), "--out", str(out),
                             "--max-steps", "2", "--log-style", "quiet"])
    assert code == 0, capsys.readouterr().err
    config = json.loads((out / "config.json").read_text())
    assert config["width"] == 8 and config["_run"]["dataset"] == "fer2013" and "tensorflow" in config["_run"]
    with open(out / "train_log.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [0, 1] and all(float(r["loss"]) > 0 for r in rows)
    assert (out / "checkpoints" / "ckpt-2.index").exists()
    assert keras.models.load_model(out / "model.keras").output_shape == (None, 48, 48, 1)
    assert json.loads((out / "summary.json").read_text())["steps"] == 2


def test_list_experiments_names_every_id_with_its_family(capsys):
    assert load_train_script().main(["--list-experiments"]) == 0
    table = capsys.readouterr().out
    rows = {line.split()[0]: line.split()[1] for line in table.splitlines()[2:]}
    assert rows["T26"] == "ccyclegan" and rows["C2"] == "classifier" and rows["quickstart"] == "ccyclegan"


def test_an_experiment_picks_its_family_and_a_conflicting_family_is_refused(tmp_path, capsys, monkeypatch):
    module = load_train_script()
    seen = {}
    monkeypatch.setattr(module, "family_module", lambda name: _Recorder(name, seen))
    assert module.main(["--experiment", "C2", "--max-steps", "1"]) == 0
    assert seen == {"family": "classifier", "arch": "c2"}
    with pytest.raises(SystemExit):
        load_train_script().main(["--experiment", "C2", "--family", "ccyclegan"])
    assert "belongs to the classifier family" in capsys.readouterr().err


class _Recorder:
    """Stands in for a family module: the real parser options, a run that records what it was given."""

    def __init__(self, name, seen):
        from train import family_module

        self._real, self._seen = family_module(name), seen
        self.MODES = getattr(self._real, "MODES", ("train",))

    def add_arguments(self, parser):
        self._real.add_arguments(parser)

    def run(self, args):
        self._seen.update(family=args.family, arch=args.arch)
        return {}


def test_every_experiment_names_options_its_family_has_and_inherits_from_its_parent():
    from train.experiments import EXPERIMENTS, experiment_settings

    module = load_train_script()
    for experiment in EXPERIMENTS.values():
        destinations = {action.dest for action in module.build_parser(experiment.family)._actions}
        settings = experiment_settings(experiment.id)
        assert set(settings) <= destinations, (experiment.id, set(settings) - destinations)
        if experiment.parent:
            parent = experiment_settings(experiment.parent)
            assert {k: v for k, v in settings.items() if k not in experiment.settings} == \
                {k: v for k, v in parent.items() if k not in experiment.settings}
    # T26 is the family's defaults: resolving it through T25 and T24 changes no default.
    parser = module.build_parser("ccyclegan")
    defaults = vars(parser.parse_args([]))
    assert {k: defaults[k] for k in experiment_settings("T26")} == experiment_settings("T26")


def test_translate_and_evaluate_options_come_from_the_core_for_translating_families_only():
    module = load_train_script()
    translating = {action.dest for action in module.build_parser("ccyclegan")._actions}
    training_only = {action.dest for action in module.build_parser("template")._actions}
    assert {"model", "input", "output", "judge", "split", "eval_n", "evaluate_after", "target"} <= translating
    assert not {"model", "judge", "split", "target"} & training_only
    assert module.build_parser("ccyclegan").parse_args([]).split == "private_test"  # the family's default

"""The cyclegan family from the command line: train on UTKFace-named synthetic faces, then translate (with a chain)
and evaluate with a domain judge and the synthetic identity pairs; and the errors a user can meet."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.helpers import load_train_script


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny age run (one 24 px epoch: the stages have tests of their own) on 40 synthetic UTKFace-named faces,
    through train.py."""
    from ccyclegan.data.synthetic_writers import write_utkface

    root = tmp_path_factory.mktemp("cyclegan")
    write_utkface(root / "data", n=40, seed=0, task="age", size=64)
    out = root / "run"
    code = load_train_script().main([
        "--family", "cyclegan", "--data", str(root / "data"), "--schedule", "24:1:4", "--width", "4",
        "--residual-blocks", "1", "--d-width", "4", "--out", str(out), "--log-style", "quiet"])
    assert code == 0
    return root, out


def test_train_writes_both_generators_and_the_domains(trained):
    _, out = trained
    config = json.loads((out / "config.json").read_text())
    assert config["domain_names"] == ["age 20..29", "age 50..59"]
    assert (out / "generator_ab.keras").is_file() and (out / "generator_ba.keras").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schedule"] == ["24:1:4"] and summary["steps"] > 0


def test_translate_writes_the_grid_and_the_chain(trained, tmp_path):
    from train.cyclegan_use import TranslateSettings, translate

    root, out = trained
    photos = sorted((root / "data" / "UTKFace").iterdir())[:2]
    for photo in photos:
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / photo.name).write_bytes(photo.read_bytes())
    result = translate(TranslateSettings(model=str(out), input=str(tmp_path / "in"), output=str(tmp_path / "out"),
                                         detect=False, chain=str(out)))
    assert len(result["written"]) == 3  # the grid of both faces, one chain grid per face
    assert all(p.endswith(".png") for p in result["written"])


def test_evaluate_reports_transfer_by_a_domain_judge_cycle_and_identity(trained, tmp_path):
    from models.classifier import build_judge, save_judge
    from train.cyclegan_use import EvaluateSettings, evaluate

    _, out = trained
    judge = build_judge((32, 32, 3), num_classes=2, width=4)  # the judge resizes 24 px faces
    save_judge(judge, tmp_path / "judge", "domain", ("age 20..29", "age 50..59"))
    report = evaluate(EvaluateSettings(model=str(out), eval_n=10, judge=str(tmp_path / "judge"), identity_n=6,
                                       output=str(tmp_path / "eval")))
    assert 0 <= report["transfer_accuracy"] <= 1 and 0 <= report["judge_real_accuracy"] <= 1
    assert report["num_translated"] == sum(report["faces"])
    assert report["cycle_l1"]["mean"] > 0
    identity = report["identity"]
    assert identity["pairs"] == 6 and identity["a2b"]["unchanged"] > 0.005  # the pairs differ (grey hair, wrinkles)
    assert (tmp_path / "eval" / "evaluation.json").is_file() and (tmp_path / "eval" / "evaluation.png").is_file()

    save_judge(judge, tmp_path / "wrong", "domain", ("male", "female"))
    from ccyclegan.errors import UsageError

    with pytest.raises(UsageError, match="translates between age 20..29 and age 50..59"):
        evaluate(EvaluateSettings(model=str(out), judge=str(tmp_path / "wrong"), identity_n=0))


def test_identity_pairs_change_only_the_attribute():
    from train.cyclegan_use import synthetic_attribute_pairs

    young, old = synthetic_attribute_pairs("gender", 3, 32)
    assert young.shape == old.shape == (3, 32, 32, 3) and young.dtype == np.uint8
    assert 0 < np.abs(young.astype(int) - old.astype(int)).mean() < 60


@pytest.mark.parametrize("argv, words", [
    (["--schedule", "50:2"], "multiple of 8"),
    (["-epochs", "3"], "--schedule SIZE:EPOCHS"),
    (["--dataset", "synthetic", "--schedule", "16:1"], "translates between UTKFace domains"),
    (["--domain-a", "age>=20,age<=29"], "domain_a and domain_b go together"),
    (["--domain-a", "age>=20", "--domain-b", "height<3"], "not a comparison"),
])
def test_bad_commands_name_what_is_wrong(argv, words, tmp_path, capsys):
    code = load_train_script().main(["--family", "cyclegan", "--out", str(tmp_path / "run"), *argv])
    assert code == 2 and words in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # nothing is created by a refused command

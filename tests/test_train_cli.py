"""`python train.py`: the original flags, presets by name, bad input, and a run killed with SIGKILL then resumed."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import load_train_script, write_fer_csv

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "train.py"
sys.path.insert(0, str(REPO))


def parse(argv):
    module = load_train_script()
    parser = module.build_parser("ccyclegan")
    return parser, parser.parse_args(argv)


def test_every_original_flag_has_its_name_type_default_and_help():
    parser, args = parse([])
    expected = {"d_gan_loss_w": 1, "d_cl_loss_w": 1, "g_gan_loss_w": 2, "g_cl_loss_w": 2, "rec_loss_w": 1,
                "adam_lr": 0.0002, "adam_beta_1": 0.5, "adam_beta_2": 0.999, "epochs": 170, "batch_size": 64,
                "sample_interval": 200}
    assert {k: getattr(args, k) for k in expected} == expected
    helps = {a.dest: a.help for a in parser._actions}
    assert helps["d_gan_loss_w"] == "loss weight for discrim. real/fake"
    assert helps["rec_loss_w"] == "reconstr. loss weight"
    assert helps["epochs"] == "N. epochs"
    _, args = parse("-d_gan_loss_w 1 -d_cl_loss_w 1 -g_gan_loss_w 2 -g_cl_loss_w 2 -rec_loss_w 1 -adam_lr 0.0002 "
                    "-adam_beta_1 0.5 -adam_beta_2 0.999 -epochs 170 -batch_size 64 -sample_interval 200".split())
    assert args.epochs == 170 and isinstance(args.g_gan_loss_w, int)
    with pytest.raises(SystemExit):
        parse(["-g_gan_loss_w", "0.5"])  # int in the original too


def test_experiment_presets_apply_and_explicit_flags_win(capsys):
    module = load_train_script()
    from train.ccyclegan_cli import config_from_args

    parser = module.build_parser("ccyclegan")
    from train.experiments import experiment_settings

    parser.set_defaults(**experiment_settings("t25"))
    config = config_from_args(parser.parse_args(["-g_cl_loss_w", "3"]))
    assert (config.d_g_ratio, config.epochs, config.g_gan_loss_w, config.g_cl_loss_w) == (1, 200, 1, 3)


def test_options_beyond_the_original_reach_the_config_and_bad_values_are_usage_errors(tmp_path, capsys):
    from train.ccyclegan_cli import config_from_args

    _, args = parse("--self-reg-w 2.5 --lr-schedule linear-decay --lr-decay-start 0.25 --decoder-edge replicate".split())
    config = config_from_args(args)
    assert (config.self_reg_w, config.lr_schedule, config.lr_decay_start, config.decoder_edge) == \
        (2.5, "linear-decay", 0.25, "replicate")
    defaults = config_from_args(parse([])[1])
    assert (defaults.self_reg_w, defaults.lr_schedule, defaults.decoder_edge) == (0, "constant", "bias")
    code = load_train_script().main(["--dataset", "synthetic", "--lr-decay-start", "1.5", "--out", str(tmp_path / "run")])
    assert code == 2 and "lr_decay_start must be in [0, 1), got 1.5" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(["--decoder-edge", "mirror"])


def test_attention_mask_flags_reach_the_config_and_mask_weights_alone_are_a_usage_error(tmp_path, capsys):
    from train.ccyclegan_cli import config_from_args

    config = config_from_args(parse("--attention-mask --mask-w 0.1 --mask-smooth-w 0.01".split())[1])
    assert (config.attention_mask, config.mask_w, config.mask_smooth_w) == (True, 0.1, 0.01)
    assert config_from_args(parse([])[1]).attention_mask is False
    code = load_train_script().main(["--dataset", "synthetic", "--mask-w", "0.1", "--out", str(tmp_path / "run")])
    assert code == 2 and "need attention_mask=True" in capsys.readouterr().err


def test_cli_choices_are_the_library_names_and_parsing_needs_no_keras():
    import subprocess

    from ccyclegan.cli import LR_SCHEDULE_CHOICES
    from ccyclegan.schedules import LR_SCHEDULES
    from models.ccyclegan import DECODER_EDGES
    from train.ccyclegan_cli import DECODER_EDGE_CHOICES

    assert DECODER_EDGE_CHOICES == DECODER_EDGES and set(LR_SCHEDULE_CHOICES) <= set(LR_SCHEDULES)
    probe = "import sys, train.ccyclegan_cli; print('keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_missing_fer2013_says_where_to_get_it_and_how_to_run_synthetic(tmp_path, capsys):
    code = load_train_script().main(["--data", str(tmp_path / "nowhere.csv"), "--out", str(tmp_path / "run")])
    error = capsys.readouterr().err
    assert code == 2
    assert "nowhere.csv: no such file" in error and "Kaggle" in error and "--dataset synthetic" in error


def test_unknown_experiment_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        load_train_script().main(["--experiment", "T99"])
    assert "runnable: T1, T2, T3" in capsys.readouterr().err


def read_rows(path):
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_run_killed_after_a_checkpoint_resumes_without_gap_or_duplicate(tmp_path):
    data = write_fer_csv(tmp_path / "fer2013.csv", n_train=160)
    out = tmp_path / "run"
    command = [sys.executable, str(SCRIPT), "--data", str(data), "--out", str(out), "-epochs", "3", "-batch_size",
               "16", "-sample_interval", "3", "--gf", "8", "--df", "8", "--d-g-ratio", "2", "--log-style", "quiet"]
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)
    deadline = time.time() + 240
    index = out / "checkpoints" / "checkpoint"
    while time.time() < deadline and process.poll() is None:
        if index.exists() and "ckpt-12" in index.read_text():
            break
        time.sleep(0.05)
    assert process.poll() is None, f"the run ended before it could be killed: {process.stderr.read().decode()[-2000:]}"
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_rows = read_rows(out / "train_log.csv")
    assert not (out / "generator.keras").exists()

    finished = subprocess.run(command + ["--resume"], cwd=tmp_path, env=environment, capture_output=True, text=True,
                              timeout=300)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "Resumed from" in finished.stdout
    rows = read_rows(out / "train_log.csv")
    positions = [(int(r["epoch"]), int(r["batch"])) for r in rows]
    assert positions == [(e, b) for e in range(3) for b in range(0, 10, 2)]  # 10 steps per epoch, G every 2nd
    assert len(killed_rows) >= 6  # the kill came after the step-12 checkpoint
    assert (out / "generator.keras").exists()


def test_original_log_style_prints_the_banner_the_test_line_and_the_epoch_line(tmp_path, capsys):
    """The t26 console: its 11 flags left-aligned in the banner, the `*** TEST ***` D check at each sample
    interval, and the epoch line on G iterations."""
    import re

    data = write_fer_csv(tmp_path / "fer.csv", 64)
    code = load_train_script().main(["--dataset", "fer2013", "--data", str(data), "--out", str(tmp_path / "run"), "--gf", "8",
                             "--df", "8", "-batch_size", "16", "-sample_interval", "2", "--max-steps", "3",
                             "--log-style", "original"])
    out = capsys.readouterr().out
    assert code == 0
    banner = out.split("-" * 30)[2].strip().splitlines()
    assert [line.split(" := ")[0].rstrip() for line in banner] == [
        "d_gan_loss_w", "d_cl_loss_w", "g_gan_loss_w", "g_cl_loss_w", "rec_loss_w", "adam_lr", "adam_beta_1",
        "adam_beta_2", "epochs", "batch_size", "sample_interval"]
    assert banner[0] == "d_gan_loss_w         := 1" and banner[-1] == "sample_interval      := 2"
    tests = re.findall(r"\*\*\* TEST \*\*\* \[D_gan accuracy   : ([\d.]+) \] \[D_cl accuracy : ([\d.]+) \]", out)
    assert len(tests) == 2  # batches 0 and 2
    assert all(0.0 <= float(v) <= 1.0 for pair in tests for v in pair)
    assert re.search(r"\[Epoch 0/170\] \[Batch 0/4\] \[D_gan loss: [\d.]+, acc_gan: +\d+%\]", out)


@pytest.mark.parametrize("family", ["ganimation", "aucgan"])
def test_upsample_reaches_both_au_families_configs_and_a_generator_without_it_is_refused(family, capsys):
    parser = load_train_script().build_parser(family)
    if family == "ganimation":
        from train.ganimation import config_from_args

        config = config_from_args(parser.parse_args(["--upsample", "bilinear"]), 64, 3)
        assert config.architecture["generator"]["upsample"] == "bilinear"
        assert config_from_args(parser.parse_args([]), 64, 3).upsample == "transpose"
    else:
        from ccyclegan.errors import UsageError
        from train.aucgan import config_from_args

        assert config_from_args(parser.parse_args(["--upsample", "nearest"]), 64).upsample == "nearest"
        with pytest.raises(UsageError, match="upsample need the AttGAN generator"):
            config_from_args(parser.parse_args(["--generator", "unet", "--upsample", "nearest"]), 64)
    with pytest.raises(SystemExit):
        parser.parse_args(["--upsample", "pixelshuffle"])
    assert "invalid choice: 'pixelshuffle'" in capsys.readouterr().err


@pytest.mark.parametrize("family", ["ccyclegan", "aucgan", "ganimation", "cyclegan"])
def test_a_bad_eval_n_is_refused_before_anything_runs(family, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        load_train_script().main(["--family", family, "--eval-n", "0", "--out", str(tmp_path / "run")])
    assert exit_info.value.code == 2 and "--eval-n must be >= 1, got 0" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, message", [
    (["--family", "aucgan", "--g-average", "0.999", "--g-average-span", "0.7"],
     "g_average_span 0.7: the span of the average's ramp must be in (0, 0.5]"),
    (["--family", "ganimation", "--lambda_D_gp", "-1"], "lambda_D_gp must be >= 0, got -1.0"),
    (["--family", "aucgan", "--dataset", "synthetic-fer2013"], "--dataset synthetic-fer2013 conditions on classes"),
])
def test_a_bad_au_family_option_is_refused_before_the_faces_are_rendered(argv, message, tmp_path, capsys):
    code = load_train_script().main([*argv, "--data", str(tmp_path / "faces"), "--out", str(tmp_path / "run")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "faces").exists() and not (tmp_path / "run").exists()


@pytest.mark.parametrize("argv, message", [
    (["--experiment", "T5", "--decoder-edge", "replicate"],
     "architecture 'unet' does not use decoder_edge='replicate' (only final does): leave it at its default"),
    (["--experiment", "T17", "--attention-mask", "--mask-w", "0.1"],
     "architecture 't17' does not use attention_mask=True (only final does); mask_w=0.1 (only final does)"),
    (["--id-loss-w", "1"], "architecture 'final' does not use id_loss_w=1.0 (only unet/cyclegan does)"),
    (["--experiment", "T1", "--translations", "one"], "does not use translations='one' (only final/t17 does)"),
])
def test_a_setting_the_architecture_does_not_read_is_refused_not_ignored(argv, message, tmp_path, capsys):
    code = load_train_script().main([*argv, "--out", str(tmp_path / "run")])
    assert code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_every_ccyclegan_experiment_sets_only_what_its_architecture_reads():
    from train.ccyclegan_cli import config_from_args
    from train.experiments import EXPERIMENTS, experiment_settings

    ids = [e.id for e in EXPERIMENTS.values() if e.family == "ccyclegan"]
    assert len(ids) >= 27
    for experiment in ids:
        parser = load_train_script().build_parser("ccyclegan")
        parser.set_defaults(**experiment_settings(experiment))
        config_from_args(parser.parse_args([]))  # raises on a setting its architecture would ignore


@pytest.mark.parametrize("experiment", ["T1", "T4", "T17", "T26"])
def test_a_config_read_back_from_its_json_is_accepted(experiment):
    """Use modes rebuild the config from config.json, where tuples come back as lists."""
    import dataclasses

    from train.ccyclegan import CCycleGANConfig
    from train.ccyclegan_cli import config_from_args
    from train.experiments import experiment_settings

    parser = load_train_script().build_parser("ccyclegan")
    parser.set_defaults(**experiment_settings(experiment))
    config = config_from_args(parser.parse_args([]))
    saved = json.loads(json.dumps(dataclasses.asdict(config)))
    assert dataclasses.asdict(CCycleGANConfig(**saved)) == {**dataclasses.asdict(config), "class_names": saved["class_names"]}


@pytest.mark.parametrize("argv, message", [
    (["--xla"], "architecture 'unet' does not use xla=True (only final/t17 does)"),
    (["--mixed-precision"], "architecture 'unet' does not use mixed_precision=True (only final/t17 does)"),
    (["--lr-schedule", "linear-decay"], "does not use lr_schedule='linear-decay' (only final/t17 does)"),
    (["--d-g-ratio", "5"], "the T1-T16 trainer makes one G step per D step (--d-g-ratio 1), got 5"),
])
def test_the_t1_t16_trainer_refuses_what_it_cannot_do_by_name(argv, message, tmp_path, capsys):
    code = load_train_script().main(["--experiment", "T5", "--dataset", "synthetic", "--synthetic-n", "100", *argv,
                                     "--data", str(tmp_path / "data"), "--out", str(tmp_path / "run")])
    assert code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--time-limit", "0"], "--time-limit must be > 0 minutes, got 0.0"),
    (["--time-limit", "5", "--strategy", "multi-worker"], "use --max-steps with --strategy multi-worker"),
])
def test_time_limits_that_cannot_work_are_refused(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit):
        load_train_script().main(["--dataset", "synthetic", "--out", str(tmp_path / "run"), *argv])
    assert message in capsys.readouterr().err

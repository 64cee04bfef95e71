"""Runs that cannot lose work (issue item 11): what `python train.py` must do when a resume, a checkpoint, an export
or a path is wrong. Every failure is one line that says what and where; nothing a run saved is lost or overwritten.

All runs are tiny (--gf 8 --df 8, 64 training faces in batches of 16: 4 steps per epoch, 12 in 3 epochs) and stop
after a few steps. One base run (`saved_run`) trains 4 steps with a checkpoint every 2 (ckpt-2, ckpt-4) and is
copied for each test, so that every test starts from the same saved state.
"""

import re
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import load_train_script, with_option, write_fer_csv

STEPS_PER_EPOCH = 4  # 64 training faces in batches of 16


@dataclass
class Outcome:
    code: int | None  # None: main raised (crash holds the traceback)
    out: str
    err: str
    crash: str = ""

    def __str__(self) -> str:
        return f"exit code {self.code}\n--- stdout\n{self.out[-3000:]}\n--- stderr\n{self.err[-3000:]}\n{self.crash}"

    @property
    def output(self) -> str:
        return self.out + self.err


def run_cli(argv, capsys) -> Outcome:
    """`python train.py ARGV` in this process: the exit code and what it printed; a raised exception is recorded
    (as the user would see a traceback) instead of failing the test at the call."""
    capsys.readouterr()
    code, crash = None, ""
    try:
        code = load_train_script().main([str(a) for a in argv])
    except SystemExit as exit_:
        code = exit_.code
    except Exception:  # a traceback is what these tests rule out: report it through the assertions
        crash = traceback.format_exc()
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err, crash)


def train_args(data, out, *extra):
    return ["--dataset", "fer2013", "--data", data, "--out", out, "--gf", "8", "--df", "8", "--d-g-ratio", "1",
            "-batch_size", "16", "-epochs", "3", "-sample_interval", "2", "--log-style", "quiet", *extra]


def snapshot(folder: Path) -> dict:
    """Every file under `folder` with its bytes, to prove that nothing was touched."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def log_positions(run: Path) -> list[int]:
    import csv

    with open(run / "train_log.csv", newline="") as handle:
        return [int(r["epoch"]) * STEPS_PER_EPOCH + int(r["batch"]) for r in csv.DictReader(handle)]


def assert_one_error_line(outcome: Outcome, *fragments: str) -> str:
    """Exit code 2, no traceback, and stderr one line `error: ...` that holds every fragment."""
    assert not outcome.crash, f"raised instead of one error line:\n{outcome}"
    assert outcome.code == 2, str(outcome)
    lines = [line for line in outcome.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), f"stderr is not one 'error:' line:\n{outcome}"
    assert "Traceback" not in outcome.output
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in the error line:\n{outcome}"
    return lines[0]


@pytest.fixture(scope="module")
def fer_csv(tmp_path_factory):
    return write_fer_csv(tmp_path_factory.mktemp("data") / "fer2013.csv", n_train=64)


@pytest.fixture(scope="module")
def saved_run(fer_csv, tmp_path_factory):
    """A run stopped by --max-steps 4 of 12: checkpoints ckpt-2 and ckpt-4, config.json, log rows of steps 0-3."""
    out = tmp_path_factory.mktemp("base") / "run"
    code = load_train_script().main([str(a) for a in train_args(fer_csv, out, "--max-steps", "4")])
    assert code == 0
    checkpoints = out / "checkpoints"
    assert (checkpoints / "ckpt-2.index").exists() and (checkpoints / "ckpt-4.index").exists()
    return out


@pytest.fixture
def run(saved_run, tmp_path):
    """A private copy of the saved run."""
    copy = tmp_path / "run"
    shutil.copytree(saved_run, copy)
    return copy


# ---------------------------------------------------------------------------------------- (a) a resume that differs

@pytest.mark.slow
@pytest.mark.parametrize("changes", [
    {"--gf": ("8", "16")},
    {"-batch_size": ("16", "8")},
    {"-adam_lr": ("0.0002", "0.001")},
    {"--gf": ("8", "16"), "-adam_lr": ("0.0002", "0.001")},
], ids=["gf", "batch_size", "adam_lr", "gf+adam_lr"])
def test_resume_with_different_settings_is_refused_and_touches_nothing(run, fer_csv, capsys, changes):
    """The error names each differing setting with its saved value and then the new one; config.json and the
    checkpoints stay byte for byte as they were."""
    config_before = (run / "config.json").read_bytes()
    checkpoints_before = snapshot(run / "checkpoints")
    argv = train_args(fer_csv, run, "--resume", "--max-steps", "6")
    for flag, (_, new) in changes.items():
        argv = with_option(argv, flag, new)
    outcome = run_cli(argv, capsys)
    line = assert_one_error_line(outcome, str(run))
    for flag, (old, new) in changes.items():
        name = flag.lstrip("-")
        assert re.search(rf"{re.escape(name)}\b.*?\b{re.escape(old)}\b.*?\b{re.escape(new)}\b", line), \
            f"{name} {old} -> {new} not named in: {line}"
    assert (run / "config.json").read_bytes() == config_before
    assert snapshot(run / "checkpoints") == checkpoints_before


# ------------------------------------------------------------------------------------- (b) a resume that runs longer

@pytest.mark.slow
def test_resume_with_more_epochs_is_accepted_said_and_continues_from_the_saved_step(run, fer_csv, capsys):
    argv = train_args(fer_csv, run, "--resume", "--max-steps", "6")
    argv[argv.index("-epochs") + 1] = "4"
    outcome = run_cli(argv, capsys)
    assert outcome.code == 0 and not outcome.crash, str(outcome)
    assert re.search(r"epochs\b.*?\b3\b.*?\b4\b", outcome.output), f"no word that the run now has 4 epochs:\n{outcome}"
    assert re.search(r"\bstep 4\b", outcome.out), str(outcome)
    assert log_positions(run) == list(range(6))


# ------------------------------------------------------------------------------------ (c) a damaged checkpoint index

@pytest.mark.slow
@pytest.mark.parametrize("garbage", [b"\x00\xffnot a checkpoint state {{{", b'model_checkpoint_path: "ckpt-', b""],
                         ids=["binary", "cut_mid_line", "empty"])
def test_a_damaged_checkpoint_index_resumes_from_the_newest_intact_checkpoint(run, fer_csv, capsys, garbage):
    """`checkpoints/checkpoint` names the latest checkpoint; when it is damaged the checkpoints themselves
    (ckpt-N.index + data) still say which is newest."""
    checkpoints = run / "checkpoints"
    (checkpoints / "checkpoint").write_bytes(garbage)
    outcome = run_cli(train_args(fer_csv, run, "--resume", "--max-steps", "5"), capsys)
    assert outcome.code == 0 and not outcome.crash, str(outcome)
    assert re.search(r"\bstep 4\b", outcome.out) and "step 0" not in outcome.out, \
        f"did not continue from ckpt-4:\n{outcome}"
    assert log_positions(run) == list(range(5))
    # ckpt-4 is one of the two newest (4, 5) and must survive; only ckpt-2 was superseded.
    assert (checkpoints / "ckpt-4.index").exists() and (checkpoints / "ckpt-4.data-00000-of-00001").exists()
    assert (checkpoints / "ckpt-5.index").exists()


# ------------------------------------------------------------------------------- (d) a truncated checkpoint data file

def truncate(path: Path) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: len(content) // 2])


@pytest.mark.slow
def test_a_truncated_newest_checkpoint_falls_back_to_the_previous_one_and_names_it(run, fer_csv, capsys):
    damaged = run / "checkpoints" / "ckpt-4.data-00000-of-00001"
    truncate(damaged)
    outcome = run_cli(train_args(fer_csv, run, "--resume", "--max-steps", "5"), capsys)
    assert outcome.code == 0 and not outcome.crash, str(outcome)
    assert "ckpt-4" in outcome.output, f"the damaged checkpoint is not named:\n{outcome}"
    assert re.search(r"\bstep 2\b", outcome.out), f"did not continue from ckpt-2:\n{outcome}"
    assert log_positions(run) == list(range(5))


@pytest.mark.slow
def test_no_intact_checkpoint_is_one_error_line_naming_the_file(run, fer_csv, capsys):
    for step in (2, 4):
        truncate(run / "checkpoints" / f"ckpt-{step}.data-00000-of-00001")
    before = snapshot(run)
    outcome = run_cli(train_args(fer_csv, run, "--resume", "--max-steps", "5"), capsys)
    assert_one_error_line(outcome, "ckpt-4")
    assert snapshot(run) == before  # the damaged files stay for the user to inspect; nothing new is written


# ----------------------------------------------------------------------------- (e) failing before the first step

@pytest.mark.slow
@pytest.mark.parametrize(("flag", "bad", "good"), [
    ("-batch_size", "128", "16"),  # 64 training faces make no batch of 128
    ("-sample_interval", "-1", "2"),
    ("--checkpoint-interval", "-1", "0"),
], ids=["batch_larger_than_data", "negative_sample_interval", "negative_checkpoint_interval"])
def test_a_run_that_fails_before_its_first_step_creates_nothing(tmp_path, fer_csv, capsys, flag, bad, good):
    out = tmp_path / "run"
    argv = with_option(train_args(fer_csv, out, "--max-steps", "2"), flag, bad)
    outcome = run_cli(argv, capsys)
    assert not outcome.crash and outcome.code == 2, str(outcome)
    assert not out.exists(), f"the failed run left {sorted(p.name for p in out.iterdir())} in {out}"
    argv[argv.index(flag) + 1] = good
    corrected = run_cli(argv, capsys)  # the same --out, without --resume
    assert corrected.code == 0, str(corrected)
    assert (out / "config.json").exists()


def test_out_that_is_a_regular_file_is_one_error_line_and_the_file_is_kept(tmp_path, fer_csv, capsys):
    out = tmp_path / "notes.txt"
    out.write_text("my notes")
    outcome = run_cli(train_args(fer_csv, out, "--max-steps", "2"), capsys)
    assert_one_error_line(outcome, str(out))
    assert out.read_text() == "my notes" and sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


# ------------------------------------------------------------------------------- (f) wrong --model and --judge paths

@pytest.fixture
def face_png(tmp_path):
    import cv2
    import numpy as np

    path = tmp_path / "face.png"
    cv2.imwrite(str(path), np.full((48, 48), 128, np.uint8))
    return path


def translate_args(model, face):
    return ["--mode", "translate", "--model", model, "--input", face, "--no-detect", "--target", "Happy",
            "--output", Path(face).parent / "translations"]


def truncated_keras_file(path: Path) -> Path:
    """The first half of a real .keras file, as a copy or an export cut short leaves it."""
    import keras

    inputs = keras.Input((4,))
    keras.Model(inputs, keras.layers.Dense(2)(inputs)).save(path)
    truncate(path)
    return path


@pytest.mark.parametrize("kind", ["missing", "text_file", "truncated_generator"])
def test_translate_with_a_wrong_model_path_is_one_error_line(tmp_path, face_png, capsys, kind):
    if kind == "missing":
        model = tmp_path / "runs" / "nowhere" / "generator.keras"
    elif kind == "text_file":
        model = tmp_path / "generator.txt"
        model.write_text("not a model")
    else:
        model = truncated_keras_file(tmp_path / "generator.keras")
    outcome = run_cli(translate_args(model, face_png), capsys)
    assert_one_error_line(outcome, str(model))
    assert not (tmp_path / "translations").exists()


@pytest.mark.slow
def test_evaluate_with_a_missing_judge_is_one_error_line(saved_run, fer_csv, tmp_path, capsys):
    judge = tmp_path / "judge" / "classifier.keras"
    outcome = run_cli(["--mode", "evaluate", "--model", saved_run / "generator.keras", "--judge", judge,
                       "--dataset", "fer2013", "--data", fer_csv, "--eval-n", "4", "--output", tmp_path / "eval"],
                      capsys)
    assert_one_error_line(outcome, str(judge))
    assert not (tmp_path / "eval").exists()


# ------------------------------------------------------------------------- (g) leftovers of a save that was killed

@pytest.mark.slow
def test_leftover_temporary_checkpoint_files_are_removed_on_the_next_start_and_reported(run, fer_csv, capsys):
    """What a save killed midway leaves, by who writes it: TensorFlow's sharded saver writes into `ckpt-N_temp/`
    (files `part-*` with `.tempstate<digits>` while being written) and merges into `ckpt-N.index` through a
    `.tempstate<digits>` file; the checkpoint index is replaced through `checkpoint.tmp<hex>`; and
    ccyclegan.modelio.save_model_atomic exports through `.<name>.tmp-<pid>-<hex>.keras`. Step 9 is one the resumed
    run never reaches, so only the clean-up can remove them."""
    checkpoints = run / "checkpoints"
    temp_folder = checkpoints / "ckpt-9_temp"
    leftovers = [temp_folder, checkpoints / "checkpoint.tmp4b1e7d0c9a8f4e6b",
                 checkpoints / "ckpt-9.index.tempstate881234", run / ".generator.keras.tmp-4242-deadbeef.keras"]
    temp_folder.mkdir()
    (temp_folder / "part-00000-of-00001.data-00000-of-00001.tempstate771234").write_bytes(b"\x00" * 64)
    for leftover in leftovers[1:]:
        leftover.write_bytes(b"partial")
    outcome = run_cli(train_args(fer_csv, run, "--resume", "--max-steps", "5"), capsys)
    assert outcome.code == 0 and not outcome.crash, str(outcome)
    remaining = [str(p) for p in leftovers if p.exists()]
    assert not remaining, f"left behind: {remaining}\n{outcome}"
    assert any("remov" in line.lower() and ("temp" in line.lower() or "leftover" in line.lower())
               for line in outcome.output.splitlines()), f"no message about the removed leftovers:\n{outcome}"
    assert re.search(r"\bstep 4\b", outcome.out), str(outcome)
    assert (checkpoints / "ckpt-4.index").exists() and (checkpoints / "ckpt-5.index").exists()

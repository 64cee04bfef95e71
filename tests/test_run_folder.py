"""ccyclegan.run.RunFolder.prepare on its own: what a resume accepts, refuses and says (no TensorFlow needed)."""

import json
from dataclasses import dataclass

import pytest

from ccyclegan.errors import UsageError
from ccyclegan.run import RunFolder


@dataclass
class Config:
    width: int = 8
    epochs: int = 2
    new_option: float = 0.0  # a setting added after older runs were saved


def saved_run(tmp_path, **values):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({**values, "_run": {"dataset": "synthetic", "data": "d"}}))
    return folder


def test_a_setting_the_saved_run_predates_counts_as_its_default(tmp_path, capsys):
    folder = saved_run(tmp_path, width=8, epochs=2)
    context = {"dataset": "synthetic", "data": "d"}
    assert RunFolder(folder, Config(epochs=3), context, resume=True, resumable=("epochs",)).prepare() == \
        ["epochs: saved 2, now 3"]
    assert "with a change it accepts: epochs: saved 2, now 3" in capsys.readouterr().out
    with pytest.raises(UsageError, match=r"new_option: saved 0.0, now 0.5"):
        RunFolder(folder, Config(new_option=0.5), context, resume=True).prepare()


def test_a_resume_on_other_data_is_refused_and_a_file_is_not_a_run_folder(tmp_path):
    folder = saved_run(tmp_path, width=8, epochs=2, new_option=0.0)
    with pytest.raises(UsageError, match="dataset: saved synthetic, now fer2013"):
        RunFolder(folder, Config(), {"dataset": "fer2013", "data": "d"}, resume=True).prepare()
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UsageError, match="names an existing file"):
        RunFolder(tmp_path / "notes.txt", Config()).prepare()
    with pytest.raises(FileExistsError, match="already holds a run"):
        RunFolder(folder, Config()).prepare()
    assert not (tmp_path / "fresh").exists() and RunFolder(tmp_path / "fresh", Config()).prepare() == []
    assert not (tmp_path / "fresh").exists()  # prepare creates nothing


def test_a_resume_with_other_data_options_is_refused(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    saved = {"dataset": "fer2013", "data": "f.csv", "data_options": {"use_test_in_train": False}}
    (folder / "config.json").write_text(json.dumps({"width": 8, "epochs": 2, "new_option": 0.0, "_run": saved}))
    changed = {**saved, "data_options": {"use_test_in_train": True}}
    with pytest.raises(UsageError, match="data_options: saved .*False.*, now .*True"):
        RunFolder(folder, Config(), changed, resume=True).prepare()

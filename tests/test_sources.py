"""Data sources by name: the registry's specs, each synthetic source rendered once and read back through the real
readers, the real sources reading the same files, the `synthetic` alias, splits, and the errors for bad input."""

import numpy as np
import pytest

from ccyclegan.data import sources
from ccyclegan.data.sources import (
    DATASETS,
    SOURCES,
    FerSource,
    held_out_mask,
    load_fer_source,
    load_source,
    source_spec,
)
from ccyclegan.errors import DataError, UsageError
from ccyclegan.labels import AU_CODES, FER_CLASSES

N = 120  # faces per synthetic source: about a second each to render
SYNTHETIC = ("synthetic-fer2013", "synthetic-openface", "synthetic-ganimation", "synthetic-utkface")
EXPECTED = {  # format: conditioning, class names, image size, channels
    "fer2013": ("classes", FER_CLASSES, 48, 1),
    "openface": ("aus", tuple(f"AU{c:02d}" for c in AU_CODES), 112, 3),
    "ganimation": ("aus", tuple(f"AU{c:02d}" for c in AU_CODES), 128, 3),
    "utkface": ("domains", ("age 20..29", "age 50..59"), 200, 3),
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """Each synthetic source rendered once into its own folder: name -> (folder, LoadedSource)."""
    root = tmp_path_factory.mktemp("sources")
    return {name: (root / name, load_source(name, root / name, synthetic_n=N)) for name in SYNTHETIC}


# --- the registry --------------------------------------------------------------------------------------------------


def test_registry_declares_what_each_source_conditions_on():
    assert DATASETS == ("fer2013", "openface", "ganimation", "utkface", *SYNTHETIC, "synthetic")
    for name, spec in SOURCES.items():
        conditioning, names, size, channels = EXPECTED[spec.format]
        assert (spec.name, spec.conditioning, spec.class_names) == (name, conditioning, names)
        assert spec.image_shape == (size, size, channels) and spec.num_conditions == len(names)
        assert spec.synthetic == name.startswith("synthetic-") and (spec.synthetic_n > 0) == spec.synthetic
        assert spec.about and "\n" not in spec.about  # one line of --dataset help
        assert spec.synthetic or "{path}" in spec.how_to_get
    assert source_spec("synthetic") is SOURCES["synthetic-fer2013"]
    assert source_spec("utkface").num_conditions == 2 and source_spec("openface").num_conditions == 17
    assert "synthetic: same as synthetic-fer2013" in sources.datasets_help()


def test_utkface_default_domain_names_are_the_readers():
    from ccyclegan.data.utkface import DOMAIN_PRESETS

    assert tuple(str(side) for side in DOMAIN_PRESETS[sources.UTKFACE_DEFAULT_TASK]) == \
        SOURCES["utkface"].class_names


def test_unknown_names_list_the_choices():
    with pytest.raises(UsageError, match=r"unknown dataset 'celeba'; expected one of fer2013, .*synthetic-utkface"):
        source_spec("celeba")
    with pytest.raises(UsageError, match="unknown dataset 'fer'"):
        load_source("fer")
    with pytest.raises(UsageError, match="unknown dataset 'fer'"):
        load_fer_source("fer")


# --- each synthetic source, read back through its reader -----------------------------------------------------------


@pytest.mark.parametrize("name", SYNTHETIC)
def test_synthetic_source_has_the_spec_shapes_and_its_ground_truth(rendered, name):
    folder, data = rendered[name]
    spec = data.spec
    assert spec is SOURCES[name] and data.synthetic and data.image_shape == spec.image_shape
    expected_splits = ["train", "public_test", "private_test"] if spec.format == "fer2013" else ["train", "test"]
    assert list(data.splits) == expected_splits
    assert sum(len(split) for split in data.splits.values()) == N and len(data.held_out) == 12
    assert not set(data.train.names) & set(data.held_out.names)
    for split in data.splits.values():
        assert split.images.dtype == np.uint8 and split.images.shape == (len(split), *spec.image_shape)
        assert len(split.records) == len(split.names) == len(split)
        record_names = [record.name for record in split.records]
        assert record_names == [face.rsplit("/", 1)[-1] for face in split.names]
        if spec.conditioning == "aus":
            assert split.labels is None and split.aus.dtype == np.float32 and split.aus.shape == (len(split), 17)
            np.testing.assert_allclose(split.aus, np.stack([r.aus_array() for r in split.records]) / 5.0, atol=1e-6)
        elif spec.conditioning == "classes":
            assert split.aus is None and split.labels.dtype == np.int64
            assert split.labels.tolist() == [record.label for record in split.records]
        else:
            assert split.aus is None and split.labels.dtype == np.int64 and set(split.labels.tolist()) == {0, 1}
            ages = np.array([record.identity.age_look for record in split.records])
            assert np.all((ages[split.labels == 0] >= 20) & (ages[split.labels == 0] <= 29))
            assert np.all((ages[split.labels == 1] >= 50) & (ages[split.labels == 1] <= 59))
            assert len(split.images_of(0)) == np.count_nonzero(split.labels == 0)
    assert data.class_names == spec.class_names
    assert not any(entry.name.startswith(".rendering") for entry in folder.iterdir())  # staging folder moved in


@pytest.mark.parametrize("name", SYNTHETIC)
def test_a_second_load_reads_and_does_not_render(rendered, name, monkeypatch, capsys):
    from ccyclegan.data import synthetic_writers

    def must_not_render(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setitem(synthetic_writers.WRITERS, SOURCES[name].format, must_not_render)
    folder, first = rendered[name]
    again = load_source(name, folder)
    assert "Rendering" not in capsys.readouterr().out
    assert np.array_equal(again.train.images, first.train.images) and again.train.names == first.train.names


def test_the_synthetic_alias_is_synthetic_fer2013(rendered):
    folder, first = rendered["synthetic-fer2013"]
    alias = load_source("synthetic", folder)
    assert alias.spec.name == "synthetic-fer2013"
    assert np.array_equal(alias.held_out.images, first.held_out.images)
    assert alias.held_out.labels.tolist() == first.splits["public_test"].labels.tolist()


def test_load_fer_source_keeps_its_api(rendered):
    folder, loaded = rendered["synthetic-fer2013"]
    for name in ("synthetic", "synthetic-fer2013"):
        fer = load_fer_source(name, folder, synthetic_n=N)
        assert isinstance(fer, FerSource) and fer.synthetic and fer.csv_path == folder / "fer2013.csv"
        assert [r.label for r in fer.split_records("public_test")] == fer.data.public_test.labels.tolist()
        assert np.array_equal(fer.data.train.images, loaded.train.images)
    merged = load_fer_source("synthetic", folder, merge_test_into_train=True)
    assert len(merged.data.train) == N and len(merged.split_records("train")) == N
    with pytest.raises(UsageError, match="conditions on aus.*FER2013's 7 classes: fer2013, synthetic-fer2013"):
        load_fer_source("synthetic-openface", folder)


# --- real sources read the same files --------------------------------------------------------------------------


@pytest.mark.parametrize("name, data_path", [
    ("fer2013", "fer2013.csv"), ("openface", ""), ("ganimation", "list_attr_synthetic.txt"), ("utkface", "UTKFace")])
def test_real_sources_read_files_of_their_format(rendered, name, data_path):
    folder, synthetic = rendered[f"synthetic-{name}"]
    real = load_source(name, folder / data_path)
    assert real.spec is SOURCES[name] and not real.synthetic
    assert all(split.records is None for split in real.splits.values())
    assert np.array_equal(real.train.images, synthetic.train.images)
    assert real.train.names == synthetic.train.names  # the same seeded held-out split


@pytest.mark.parametrize("name, hint", [
    ("fer2013", "Kaggle"), ("openface", "FeatureExtraction"), ("ganimation", "FaceLandmarkImg"),
    ("utkface", "UTKFace.tar.gz")])
def test_missing_real_data_says_how_to_get_it(tmp_path, name, hint):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as excinfo:
        load_source(name, missing)
    message = str(excinfo.value)
    assert message.startswith(f"{missing}: no such ") and hint in message and "--dataset synthetic" in message
    assert str(missing) in message.split(": no such ", 1)[1]  # the help names where to put it


# --- options, splits and bad input ---------------------------------------------------------------------------------


def test_utkface_tasks_custom_domains_and_resizing(rendered, tmp_path):
    folder, default = rendered["synthetic-utkface"]
    custom = load_source("synthetic-utkface", folder, domain_a="age=20-29", domain_b="age=50-59", size=64)
    assert custom.class_names == default.class_names and custom.image_shape == (64, 64, 3)
    assert custom.train.labels.tolist() == default.train.labels.tolist()
    gender = load_source("synthetic-utkface", tmp_path / "gender", synthetic_n=30, task="gender", size=48)
    assert gender.class_names == ("gender 0", "gender 1")
    for split in gender.splits.values():
        assert split.labels.tolist() == [record.identity.gender_look for record in split.records]
    with pytest.raises(UsageError, match="unknown task 'hair'"):
        load_source("synthetic-utkface", folder, task="hair")
    with pytest.raises(UsageError, match="both domain_a and domain_b"):
        load_source("synthetic-utkface", folder, domain_a="age=20-29")


def test_held_out_split_is_seeded_fixed_and_per_domain(rendered):
    assert np.array_equal(held_out_mask(100, 0.1, 0), held_out_mask(100, 0.1, 0))
    assert not np.array_equal(held_out_mask(100, 0.1, 0), held_out_mask(100, 0.1, 1))
    assert held_out_mask(100, 0.1, 0).sum() == 10 and held_out_mask(10, 0.01, 0).sum() == 1
    assert held_out_mask(1, 0.5, 0).sum() == 0 and held_out_mask(5, 0.0, 0).sum() == 0
    folder, default = rendered["synthetic-ganimation"]
    quarter = load_source("synthetic-ganimation", folder, held_out_fraction=0.25, split_seed=3)
    assert (len(quarter.train), len(quarter.held_out)) == (90, 30)
    assert quarter.held_out.names == sorted(quarter.held_out.names)  # file order kept
    utk_folder, _ = rendered["synthetic-utkface"]
    utk = load_source("synthetic-utkface", utk_folder, held_out_fraction=0.5)
    for label in (0, 1):
        in_domain = np.count_nonzero(np.concatenate([utk.train.labels, utk.held_out.labels]) == label)
        assert np.count_nonzero(utk.held_out.labels == label) == round(in_domain * 0.5)


def test_bad_options_and_paths_are_clear_errors(rendered, tmp_path):
    folder, _ = rendered["synthetic-openface"]
    with pytest.raises(UsageError, match="unknown option.*header_lines; the openface format accepts au_normalization"):
        load_source("synthetic-openface", folder, header_lines=2)
    with pytest.raises(UsageError, match="FER2013 has its own splits"):
        load_source("synthetic", rendered["synthetic-fer2013"][0], held_out_fraction=0.2)
    with pytest.raises(UsageError, match=r"held_out_fraction must be in \[0, 1\)"):
        load_source("synthetic-openface", folder, held_out_fraction=1.0)
    a_file = tmp_path / "a_file.csv"
    a_file.write_text("x\n")
    with pytest.raises(UsageError, match="a_file.csv: is a file; for synthetic-ganimation .* folder"):
        load_source("synthetic-ganimation", a_file)


def test_an_interrupted_render_is_redone_and_a_lost_sidecar_is_reported(tmp_path, capsys):
    folder = tmp_path / "g"
    load_source("synthetic-ganimation", folder, synthetic_n=20)
    (folder / "list_attr_synthetic.txt").unlink()  # the marker, moved in last: as if stopped before it
    (folder / ".rendering-ganimation").mkdir()  # a stale staging folder
    capsys.readouterr()
    again = load_source("synthetic-ganimation", folder, synthetic_n=20)
    assert "Rendering 20" in capsys.readouterr().out and len(again.train) + len(again.held_out) == 20
    assert not (folder / ".rendering-ganimation").exists()
    fer_folder = tmp_path / "f"
    load_source("synthetic", fer_folder, synthetic_n=20)
    (fer_folder / "fer2013.records.jsonl").unlink()
    with pytest.raises(DataError, match="fer2013.records.jsonl: no such ground-truth sidecar"):
        load_source("synthetic", fer_folder)


def test_processes_rendering_one_folder_at_once_take_turns(tmp_path):
    """Two runs (or the workers of one) started together on a folder not yet rendered: one renders and the other
    waits and reads its faces. Unlocked, each cleared and refilled the same staging folder under the other."""
    import subprocess
    import sys
    from pathlib import Path

    folder = tmp_path / "openface"
    probe = ("import sys; from ccyclegan.data.sources import load_source; "
             "s = load_source('synthetic-openface', sys.argv[1], synthetic_n=150); "
             "print('faces', len(s.train) + len(s.held_out))")
    repo = Path(__file__).resolve().parents[1]
    processes = [subprocess.Popen([sys.executable, "-c", probe, str(folder)], cwd=repo, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [process.communicate(timeout=300) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], [err[-2000:] for _, err in results]
    assert all("faces 150" in out for out, _ in results)
    assert sum("Rendering 150" in out for out, _ in results) == 1
    assert not any(entry.name.startswith(".rendering") for entry in folder.iterdir())  # no staging, no lock

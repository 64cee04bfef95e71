"""Model files: atomic exports that a crash cannot truncate, and one-line errors for every wrong --model path."""

import os

import keras
import numpy as np
import pytest

from ccyclegan.errors import UsageError
from ccyclegan.modelio import ModelFileError, load_keras_model, remove_partial_exports, save_model_atomic


def tiny_model(seed: int = 0) -> keras.Model:
    inputs = keras.Input((3,), name="x")
    outputs = keras.layers.Dense(2, name="dense")(inputs)
    model = keras.Model(inputs, outputs, name="tiny")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    return model


def error_of(path, **kwargs) -> str:
    with pytest.raises(UsageError) as excinfo:
        load_keras_model(path, **kwargs)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert isinstance(excinfo.value, ModelFileError) and excinfo.value.path == str(path)
    return message


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny model saved atomically, and its weights."""
    model = tiny_model()
    path = save_model_atomic(model, tmp_path_factory.mktemp("export") / "tiny.keras")
    return path, model.get_weights()


def test_atomic_save_loads_back_with_equal_weights_and_leaves_no_temporary(saved):
    path, weights = saved
    loaded = load_keras_model(path)
    assert loaded.name == "tiny"
    for original, restored in zip(weights, loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(original, restored)
    assert sorted(os.listdir(path.parent)) == ["tiny.keras"]


def test_atomic_save_replaces_an_existing_export(tmp_path):
    path = save_model_atomic(tiny_model(0), tmp_path / "m.keras")
    newer = tiny_model(1)
    save_model_atomic(newer, path)
    np.testing.assert_array_equal(load_keras_model(path).get_weights()[0], newer.get_weights()[0])
    assert os.listdir(tmp_path) == ["m.keras"]


def test_a_crash_during_save_leaves_neither_the_final_name_nor_a_temporary(tmp_path, monkeypatch):
    model = tiny_model()
    written = []

    def crashing_save(path, *args, **kwargs):
        with open(path, "wb") as handle:
            handle.write(b"PK\x03\x04 half of a zip")
        written.append(path)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model, "save", crashing_save)
    with pytest.raises(OSError, match="No space left"):
        save_model_atomic(model, tmp_path / "generator.keras")
    assert written and os.path.dirname(written[0]) == str(tmp_path)  # the temporary was in the same folder
    assert os.listdir(tmp_path) == []


def test_a_crash_during_save_keeps_the_previous_complete_export(tmp_path, monkeypatch):
    path = save_model_atomic(tiny_model(0), tmp_path / "generator.keras")
    before = path.read_bytes()
    model = tiny_model(1)
    monkeypatch.setattr(model, "save", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        save_model_atomic(model, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["generator.keras"]


def test_save_needs_the_keras_suffix(tmp_path):
    with pytest.raises(UsageError, match=r"m\.h5: .*\.keras file"):
        save_model_atomic(tiny_model(), tmp_path / "m.h5")


def test_leftovers_of_a_killed_save_are_removed_and_listed(tmp_path):
    leftover = tmp_path / ".generator.keras.tmp-123-abcd1234.keras"
    leftover.write_bytes(b"PK partial")
    keep = tmp_path / "generator.keras"
    keep.write_bytes(b"kept")
    assert remove_partial_exports(tmp_path) == [leftover]
    assert os.listdir(tmp_path) == ["generator.keras"]
    assert remove_partial_exports(tmp_path / "missing") == []


def test_truncated_keras_file_says_truncated(saved, tmp_path):
    path, _ = saved
    cut = tmp_path / "generator.keras"
    content = path.read_bytes()
    cut.write_bytes(content[: len(content) // 2])
    assert "truncated or not a Keras file" in error_of(cut)


def test_random_bytes_say_not_a_keras_file(tmp_path):
    path = tmp_path / "noise.keras"
    path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "truncated or not a Keras file" in error_of(path)
    empty = tmp_path / "empty.keras"
    empty.write_bytes(b"")
    assert "is empty (0 bytes)" in error_of(empty)


def test_a_zip_that_is_not_a_keras_archive(tmp_path):
    import zipfile

    path = tmp_path / "other.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    message = error_of(path)
    assert "truncated or not a Keras file" in message and "config.json" in message


def test_h5_files_say_what_they_are_and_what_to_pass(tmp_path):
    legacy = tmp_path / "model.h5"
    legacy.write_bytes(b"\x89HDF\r\n\x1a\n")
    message = error_of(legacy, what="generator")
    assert "legacy HDF5" in message and "model.save('model.keras')" in message
    weights = tmp_path / "generator.weights.h5"
    weights.write_bytes(b"\x89HDF\r\n\x1a\n")
    message = error_of(weights, what="generator")
    assert "only weights" in message and "not a generator" in message and ".keras" in message


@pytest.mark.parametrize("name", ["checkpoint", "ckpt-12.index", "ckpt-12.data-00000-of-00001"])
def test_checkpoint_files_are_named_as_such(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"checkpoint bytes")
    assert "TensorFlow training checkpoint, not an exported generator" in error_of(path, what="generator")


def test_other_suffixes_are_named(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not a model")
    message = error_of(path, what="classifier")
    assert "expected a classifier .keras file, got a '.txt'" in message


def test_a_folder_lists_the_exports_it_holds(tmp_path, saved):
    path, _ = saved
    assert error_of(tmp_path).endswith("is a folder, expected a model .keras file")
    (tmp_path / "generator.keras").write_bytes(path.read_bytes())
    (tmp_path / "discriminator.keras").write_bytes(path.read_bytes())
    message = error_of(tmp_path, what="generator")
    assert "holds discriminator.keras, generator.keras: pass one of them" in message


def test_a_run_folder_without_an_export_says_the_run_has_not_finished(tmp_path):
    (tmp_path / "checkpoints").mkdir()
    (tmp_path / "config.json").write_text("{}")
    assert "run folder without an exported .keras file" in error_of(tmp_path, what="generator")


def test_missing_path_says_what_is_expected(tmp_path):
    missing = tmp_path / "runs" / "nowhere" / "generator.keras"
    message = error_of(missing, what="generator")
    assert "no such file" in message and "expected a generator .keras file" in message
    assert "generator.keras" in message.split("no such file", 1)[1]  # the hint names a run folder's export
    assert "--judge" in error_of(missing, what="judge", hint="a classifier .keras for --judge")


def test_a_model_of_the_wrong_kind_is_refused_by_the_callers_check(saved):
    path, _ = saved

    def needs_two_inputs(model):
        return None if len(model.inputs) == 2 else f"is a model with {len(model.inputs)} input, not a generator"

    message = error_of(path, what="generator", check=needs_two_inputs)
    assert "is a model with 1 input, not a generator; expected a generator" in message
    assert load_keras_model(path, check=lambda model: None).name == "tiny"


def test_a_keras_failure_inside_a_valid_archive_is_one_line(tmp_path, saved):
    import zipfile

    path, _ = saved
    broken = tmp_path / "broken.keras"
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(broken, "w") as target:
        for member in source.namelist():
            data = b'{"class_name": "NoSuchLayer", "config": {}}' if member == "config.json" else source.read(member)
            target.writestr(member, data)
    message = error_of(broken)
    assert "cannot be loaded as a Keras model" in message

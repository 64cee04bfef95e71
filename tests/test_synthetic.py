"""The synthetic faces: determinism, AU effects, ground truth, and every writer's round trip through its reader.

Slow tests (`pytest -m slow`) hold the numbers the data set promises: learnable classes, identity not trivial,
recoverable AUs, rendering speed.
"""

import hashlib
import json

import numpy as np
import pytest

from ccyclegan.data import synthetic
from ccyclegan.data.au_file import read_au_file
from ccyclegan.data.fer2013 import read_fer2013
from ccyclegan.data.openface import read_openface_root
from ccyclegan.data.synthetic_faces import CHANGED_PIXEL_THRESHOLD
from ccyclegan.data.synthetic_model import ACTIVE_AU_RANGE, INACTIVE_AU_MAX
from ccyclegan.data.utkface import parse_utkface_name, read_utkface
from ccyclegan.errors import DataError
from ccyclegan.labels import AU_CODES, FER_CLASSES, NUM_AUS, au_index


def _tree_digest(folder) -> dict:
    """file path -> sha256 of every file under folder (names relative to it)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _unit(images):
    return images.astype(np.float32) / 127.5 - 1.0


# --- renderer --------------------------------------------------------------------------------------------------


def test_same_seed_same_bytes_and_a_prefix_of_a_larger_set():
    a = synthetic.make_faces(12, seed=3)
    b = synthetic.make_faces(12, seed=3)
    c = synthetic.make_faces(5, seed=3)
    other = synthetic.make_faces(12, seed=4)
    assert a.images.dtype == np.uint8 and a.images.shape == (12, 48, 48, 1)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.labels, b.labels)
    assert np.array_equal(a.images[:5], c.images) and np.array_equal(a.aus[:5], c.aus)
    assert not np.array_equal(a.images, other.images)


def test_a_record_re_renders_to_the_same_bytes_alone_or_in_a_batch():
    faces = synthetic.make_faces(6, seed=8, size=64, channels=3, labels="random_aus", aligned=True, zoom=0.9)
    again = synthetic.render_records(faces.records)
    assert np.array_equal(again, faces.images)
    r = faces.records[4]
    alone = synthetic.render(r.identity, r.aus, 64, 3, nuisance=r.nuisance, zoom=0.9, aligned=True)
    assert np.array_equal(alone, faces.images[4])
    assert np.array_equal(synthetic.true_translation(r, r.aus), faces.images[4])


def test_render_sizes_channels_and_defaults():
    identity = synthetic.sample_identity(np.random.default_rng(0))
    for size, channels in ((48, 1), (96, 3), (256, 3)):
        image = synthetic.render(identity, np.zeros(NUM_AUS), size, channels)
        assert image.shape == (size, size, channels) and image.dtype == np.uint8
        assert image.std() > 20  # a face, not a flat canvas
    gray = synthetic.render(identity, np.zeros(NUM_AUS), 128, 1).astype(float)
    rgb = synthetic.render(identity, np.zeros(NUM_AUS), 128, 3).astype(float)
    assert np.abs(gray[..., 0] - rgb @ [0.299, 0.587, 0.114]).mean() < 2.0  # gray is the luminance of RGB
    drawn = synthetic.render(identity, np.zeros(NUM_AUS), rng=np.random.default_rng(1))
    assert np.array_equal(drawn, synthetic.render(identity, np.zeros(NUM_AUS), rng=np.random.default_rng(1)))


@pytest.mark.parametrize("bad, message", [
    (dict(size=16), "size must be"), (dict(channels=2), "channels must be"),
    (dict(aus=np.zeros(16)), "17 AU intensities"), (dict(aus=np.full(NUM_AUS, 6.0)), "within 0..5"),
])
def test_render_rejects_bad_arguments(bad, message):
    identity = synthetic.sample_identity(np.random.default_rng(0))
    kwargs = dict(aus=np.zeros(NUM_AUS), size=48, channels=1) | bad
    with pytest.raises(ValueError, match=message):
        synthetic.render(identity, **kwargs)


def test_every_au_has_its_own_effect_that_grows_with_intensity():
    """Each AU alone changes the face at every step from 0 to 5, ends farther from neutral than it starts, and the
    17 effects differ from each other."""
    identity = synthetic.sample_identity(np.random.default_rng(2), age_look=30, beard=0.0)
    steps = (0.0, 1.25, 2.5, 3.75, 5.0)
    effects = []
    for i, code in enumerate(AU_CODES):
        faces = []
        for value in steps:
            aus = np.zeros(NUM_AUS)
            aus[i] = value
            faces.append(synthetic.render(identity, aus, 96, 1).astype(float))
        step_changes = [np.abs(b - a).mean() for a, b in zip(faces, faces[1:])]
        assert min(step_changes) > 0.05, f"AU{code:02d} stops changing the face: {np.round(step_changes, 3)}"
        weak, strong = np.abs(faces[1] - faces[0]).mean(), np.abs(faces[-1] - faces[0]).mean()
        assert strong > 1.5 * weak, f"AU{code:02d} at 5 is not stronger than at 1.25 ({weak:.3f} -> {strong:.3f})"
        effects.append((faces[-1] - faces[0]).ravel())
    correlation = np.corrcoef(np.array(effects))
    np.fill_diagonal(correlation, 0.0)
    assert correlation.max() < 0.9  # no two AUs look alike


def test_blink_closes_the_eyes_and_jaw_drop_opens_the_mouth():
    identity = synthetic.sample_identity(np.random.default_rng(5), age_look=30)
    neutral = synthetic.render(identity, np.zeros(NUM_AUS), 128, 1).astype(float)
    blink, jaw = np.zeros(NUM_AUS), np.zeros(NUM_AUS)
    blink[au_index(45)], jaw[au_index(26)] = 5, 5
    blink_change = np.abs(synthetic.render(identity, blink, 128, 1).astype(float) - neutral)[..., 0]
    jaw_change = np.abs(synthetic.render(identity, jaw, 128, 1).astype(float) - neutral)[..., 0]
    rows = np.arange(128)[:, None]
    assert blink_change[rows.ravel() < 64].sum() > 5 * blink_change[rows.ravel() >= 64].sum()  # upper half
    assert jaw_change[rows.ravel() >= 64].sum() > 5 * jaw_change[rows.ravel() < 64].sum()  # lower half


def test_class_aus_are_the_prototypes_with_jitter():
    rng = np.random.default_rng(0)
    for fer_class, codes in synthetic.CLASS_PROTOTYPE_AU_CODES.items():
        active = np.zeros(NUM_AUS, bool)
        active[[au_index(c) for c in codes]] = True
        draws = np.stack([synthetic.class_aus(fer_class, rng) for _ in range(200)])
        assert draws.dtype == np.float32 and draws.shape == (200, NUM_AUS)
        assert np.all(draws[:, active] >= ACTIVE_AU_RANGE[0]) and np.all(draws[:, active] <= ACTIVE_AU_RANGE[1])
        assert np.all(draws[:, ~active] <= INACTIVE_AU_MAX)
        assert draws[:, active].std() > 0.5 if active.any() else draws.std() > 0.05  # jitter
        np.testing.assert_allclose(synthetic.class_mean_aus(fer_class), draws.mean(0), atol=0.25)
    assert synthetic.CLASS_PROTOTYPE_AU_CODES[3] == (6, 12)  # Happy
    with pytest.raises(ValueError, match="outside 0..6"):
        synthetic.class_aus(7, rng)


def test_make_faces_label_modes():
    fer = synthetic.make_faces(40, seed=1)
    assert fer.labels.dtype == np.int64 and set(fer.labels) <= set(range(7))
    assert [r.label for r in fer.records] == fer.labels.tolist()
    explicit = synthetic.make_faces(3, seed=1, labels=[3, 3, 6])
    assert explicit.labels.tolist() == [3, 3, 6]
    np.testing.assert_array_equal(explicit.aus[2] <= INACTIVE_AU_MAX, True)  # Neutral: noise only
    random_aus = synthetic.make_faces(200, seed=1, labels="random_aus")
    assert random_aus.labels is None and random_aus.aus.min() >= 0 and random_aus.aus.max() <= 5
    assert abs(np.corrcoef(random_aus.aus.T)[np.triu_indices(NUM_AUS, 1)]).max() < 0.3  # drawn independently
    sparse = synthetic.make_faces(200, seed=1, labels="sparse_aus")
    assert 0.2 < (sparse.aus > 0).mean() < 0.4
    neutral = synthetic.make_faces(2, seed=1, labels=None)
    assert neutral.labels is None and not neutral.aus.any()
    real_mix = synthetic.make_faces(3000, seed=0, class_frequencies="fer2013").labels
    assert (real_mix == 1).mean() < 0.03 < (real_mix == 3).mean()  # Disgust rare, Happy common
    with pytest.raises(ValueError, match="labels must"):
        synthetic.make_faces(2, seed=0, labels="happy")
    with pytest.raises(ValueError, match="class indices"):
        synthetic.make_faces(2, seed=0, labels=[0, 9])


def test_identity_sampling_keeps_attributes_consistent():
    rng = np.random.default_rng(0)
    children = [synthetic.sample_identity(rng, age_look=6) for _ in range(30)]
    assert all(c.beard == 0 and c.wrinkles == 0 and c.age_look == 6 for c in children)
    women = [synthetic.sample_identity(rng, gender_look=1) for _ in range(30)]
    assert all(w.beard == 0 for w in women)
    assert sum(synthetic.HAIR_STYLES[w.hair_style] in ("long", "bob") for w in women) > 15
    dark = [synthetic.sample_identity(rng, ethnicity_look=1).skin for _ in range(20)]
    light = [synthetic.sample_identity(rng, ethnicity_look=0).skin for _ in range(20)]
    assert max(np.mean(s) for s in dark) < min(np.mean(s) for s in light)
    old = [synthetic.sample_identity(rng, age_look=80) for _ in range(30)]
    assert np.mean([o.wrinkles for o in old]) > 0.7 and np.mean([o.grey for o in old]) > 0.7
    # fixing a field leaves every other field as it was drawn
    plain = synthetic.sample_identity(np.random.default_rng(9))
    fixed = synthetic.sample_identity(np.random.default_rng(9), shirt=(1.0, 2.0, 3.0))
    assert fixed.shirt == (1.0, 2.0, 3.0) and fixed.to_dict() | {"shirt": list(plain.shirt)} == plain.to_dict()
    with pytest.raises(ValueError, match="unknown Identity fields"):
        synthetic.sample_identity(rng, hat=True)
    with pytest.raises(ValueError, match="'age_look': one value or 3 values"):
        synthetic.make_faces(3, seed=0, identity={"age_look": [20, 30]})
    ages = synthetic.make_faces(3, seed=0, identity={"age_look": [20, 30, 70]}).records
    assert [r.identity.age_look for r in ages] == [20, 30, 70]
    with pytest.raises(TypeError, match="nuisance must be a Nuisance"):
        synthetic.render(plain, np.zeros(NUM_AUS), nuisance={"scale": 1.0})


def test_identity_nuisance_and_record_round_trip_through_json():
    faces = synthetic.make_faces(3, seed=2)
    for record in faces.records:
        again = synthetic.FaceRecord.from_dict(json.loads(json.dumps(record.to_dict())))
        assert again == record
    identity = faces.records[0].identity.to_dict()
    with pytest.raises(ValueError, match=r"unknown keys \['hat'\]"):
        synthetic.Identity.from_dict(identity | {"hat": 1})
    with pytest.raises(ValueError, match=r"missing keys \['skin'\]"):
        synthetic.Identity.from_dict({k: v for k, v in identity.items() if k != "skin"})
    with pytest.raises(ValueError, match="gender_look must be 0"):
        synthetic.Identity.from_dict(identity | {"gender_look": 2})
    nuisance = synthetic.sample_nuisance(np.random.default_rng(0), strength=0.0)
    assert nuisance.rotation == 0 and nuisance.noise_sigma == 0 and nuisance.shift_x == 0


# --- ground truth ----------------------------------------------------------------------------------------------


def test_true_translation_renders_the_same_face_with_the_target_expression():
    faces = synthetic.make_faces(4, seed=6, labels=[6, 6, 6, 6])
    record = faces.records[0]
    happy = synthetic.true_translation(record, 3)
    assert np.array_equal(happy, synthetic.true_translation(record, synthetic.class_mean_aus(3)))
    assert not np.array_equal(happy, faces.images[0])
    # the face outside the mouth and eyes is the same person: most pixels do not move
    assert (happy == faces.images[0]).mean() > 0.6
    larger = synthetic.true_translation(record, 3, size=96, channels=3)
    assert larger.shape == (96, 96, 3)
    batch = synthetic.true_translations(faces.records, [3, 3, 0, 0])
    assert np.array_equal(batch[0], happy)
    with pytest.raises(ValueError, match="target class"):
        synthetic.true_translation(record, 7)
    with pytest.raises(ValueError, match="targets must be"):
        synthetic.true_translations(faces.records, [3, 3])


def test_ground_truth_errors_against_both_baselines():
    faces = synthetic.make_faces(70, seed=2)
    targets = (faces.labels + 1) % 7
    truth = synthetic.true_translations(faces.records, targets)
    perfect = synthetic.ground_truth_errors(truth, faces.records, targets)
    assert perfect["translation"] == 0.0 and perfect["n"] == 70
    unchanged = synthetic.ground_truth_errors(faces.images, faces.records, targets)
    assert unchanged["translation"] == pytest.approx(unchanged["unchanged"], abs=1e-7)
    expected = np.abs(_unit(faces.images) - _unit(truth)).mean()
    assert unchanged["unchanged"] == pytest.approx(expected, rel=1e-5)
    # the class-mean baseline: means of the inputs by class unless given; a given one is used as is
    means = synthetic.mean_faces_by_class(faces.images, faces.labels)
    expected_mean = np.abs(means[targets] - _unit(truth)).mean()
    assert perfect["class_mean"] == pytest.approx(expected_mean, rel=1e-5)
    zeros = synthetic.ground_truth_errors(truth, faces.records, targets, class_mean_faces=np.zeros((7, 48, 48, 1)))
    assert zeros["class_mean"] == pytest.approx(np.abs(_unit(truth)).mean(), rel=1e-5)
    assert 0 < perfect["unchanged"] < perfect["class_mean"]  # an expression changes few pixels
    # a random expression of the target class is closer than the input, yet not the truth (the class's mean)
    assert 0 < perfect["class_sample"] < perfect["unchanged"]
    assert perfect["class_sample"] == unchanged["class_sample"]  # a fixed reference, whatever the translation
    regions = unchanged["regions"]
    assert 0.02 < regions["changed_fraction"] < 0.5
    assert regions["translation_on_unchanged"] <= 1.0 / 127.5 and perfect["regions"]["translation_on_changed"] == 0
    assert regions["changed_fraction"] * regions["unchanged_on_changed"] + (1 - regions["changed_fraction"]) * \
        regions["translation_on_unchanged"] == pytest.approx(unchanged["unchanged"], rel=1e-4)
    assert set(perfect["per_class"]) == {FER_CLASSES[t] for t in set(targets.tolist())}
    float_input = synthetic.ground_truth_errors(_unit(truth), faces.records, targets)
    assert float_input["translation"] == pytest.approx(0.0, abs=1e-6)
    own = synthetic.ground_truth_errors(faces.images, faces.records, np.stack([r.aus_array() for r in faces.records]))
    assert own["regions"]["changed_fraction"] == 0.0 and own["regions"]["translation_on_changed"] is None
    au_targets = np.stack([synthetic.class_mean_aus(t) for t in targets])
    by_aus = synthetic.ground_truth_errors(truth, faces.records, au_targets)
    assert by_aus["translation"] == 0.0 and by_aus["class_mean"] is None and by_aus["class_sample"] is None
    with pytest.raises(ValueError, match=r"must be \(n, H, H, C\)"):
        synthetic.ground_truth_errors(truth[:5], faces.records, targets)
    with pytest.raises(ValueError, match="within"):
        synthetic.ground_truth_errors(_unit(truth) * 3, faces.records, targets)


def test_ground_truth_regions_report_where_an_attention_mask_kept_the_input():
    """A mask that keeps exactly the pixels the expression leaves alone: 1 on the rest, 0 on the changed pixels."""
    faces = synthetic.make_faces(20, seed=4)
    targets = (faces.labels + 3) % 7
    truth = synthetic.true_translations(faces.records, targets)
    kept = (np.abs(_unit(faces.images) - _unit(truth)) <= CHANGED_PIXEL_THRESHOLD).astype(np.float32)
    report = synthetic.ground_truth_errors(truth, faces.records, targets, attention=kept)
    assert report["regions"]["attention_on_changed"] == 0.0 and report["regions"]["attention_on_unchanged"] == 1.0
    assert "attention_on_changed" not in synthetic.ground_truth_errors(truth, faces.records, targets)["regions"]
    with pytest.raises(ValueError, match="one mask per translation"):
        synthetic.ground_truth_errors(truth, faces.records, targets, attention=kept[:3])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        synthetic.ground_truth_errors(truth, faces.records, targets, attention=kept * 2)


# --- writers and their readers ---------------------------------------------------------------------------------


def test_fer2013_writer_round_trip(tmp_path):
    csv_path = synthetic.write_fer2013(tmp_path / "a", n=40, seed=1)
    assert csv_path.read_text().splitlines()[0] == "emotion,pixels,Usage"
    data = read_fer2013(csv_path, normalize=False, cache=False)
    assert (len(data.train.images), len(data.public_test.images), len(data.private_test.images)) == (32, 4, 4)
    records = synthetic.load_records(synthetic.records_path(csv_path))
    assert synthetic.records_path(csv_path).name == "fer2013.records.jsonl" and len(records) == 40
    images = np.concatenate([data.train.images, data.public_test.images, data.private_test.images])
    labels = np.concatenate([data.train.labels, data.public_test.labels, data.private_test.labels])
    assert np.array_equal(images, synthetic.render_records(records))
    assert labels.tolist() == [r.label for r in records] and records[7].name == "7"
    assert synthetic.write_fer2013(tmp_path / "b", n=40, seed=1).read_bytes() == csv_path.read_bytes()
    assert _tree_digest(tmp_path / "a") == _tree_digest(tmp_path / "b")


def test_fer2013_usage_split_has_the_real_proportions():
    from ccyclegan.data.synthetic_writers import fer2013_split_sizes

    assert fer2013_split_sizes(35887) == [("Training", 28709), ("PublicTest", 3589), ("PrivateTest", 3589)]
    assert sum(n for _, n in fer2013_split_sizes(1000)) == 1000


def test_openface_writer_round_trip(tmp_path):
    root = synthetic.write_openface(tmp_path / "of", n=7, seed=2, size=64, subdirs=2)
    csv_path = root / "dataFile_0000" / "processed" / "EmotioNet.csv"
    header = csv_path.read_text().splitlines()[0]
    assert header.startswith("frame, face_id, timestamp, confidence, success") and ", AU45_r, AU01_c" in header
    data = read_openface_root(root)
    assert data.images.shape == (7, 64, 64, 3) and data.dropped_unsuccessful == 0
    records = [r for folder in ("dataFile_0000", "dataFile_0001") for r in
               synthetic.load_records(synthetic.records_path(root / folder / "processed" / "EmotioNet.csv"))]
    assert [r.name for r in records[:2]] == ["frame_det_00_000001.bmp", "frame_det_00_000002.bmp"]
    np.testing.assert_allclose(data.aus, np.stack([r.aus_array() for r in records]) / 5.0, atol=1e-6)
    assert np.array_equal(data.images, synthetic.render_records(records))  # BMP is lossless
    assert data.images[:, 0, 0].max() == 0  # masked outside the face, as OpenFace's aligned faces
    synthetic.write_openface(tmp_path / "again", n=7, seed=2, size=64, subdirs=2)
    assert _tree_digest(root) == _tree_digest(tmp_path / "again")


@pytest.mark.parametrize("image_format, header_lines", [("png", 2), ("jpg", 0)])
def test_ganimation_au_file_writer_round_trip(tmp_path, image_format, header_lines):
    path = synthetic.write_au_file(tmp_path / "g", n=5, seed=3, size=64, image_format=image_format,
                                   header_lines=header_lines)
    lines = path.read_text().splitlines()
    assert len(lines) == 5 + header_lines
    if header_lines:
        assert lines[0] == "5" and lines[1].split()[0] == "AU01"
    data = read_au_file(path, path.parent / "images_aligned")
    records = synthetic.load_records(synthetic.records_path(path))
    assert data.filenames == [r.name for r in records] == [f"{i:06d}.{image_format}" for i in range(1, 6)]
    np.testing.assert_allclose(data.aus, np.stack([r.aus_array() for r in records]) / 5.0, atol=1e-6)
    truth = synthetic.render_records(records)
    if image_format == "png":
        assert np.array_equal(data.images, truth)
    else:
        assert np.abs(data.images.astype(float) - truth).mean() < 6.0  # JPEG quality 95 of a noisy image
    synthetic.write_au_file(tmp_path / "again", n=5, seed=3, size=64, image_format=image_format,
                            header_lines=header_lines)
    assert _tree_digest(tmp_path / "g") == _tree_digest(tmp_path / "again")


def test_utkface_writer_round_trip(tmp_path):
    folder = synthetic.write_utkface(tmp_path / "u", n=12, seed=4, task="age", size=64)
    records = synthetic.load_records(synthetic.records_path(folder))
    assert synthetic.records_path(folder) == tmp_path / "u" / "UTKFace.records.jsonl"
    domains = read_utkface(folder, "age")
    assert len(domains.paths_a) + len(domains.paths_b) == 12 and domains.unmatched == 0
    assert len(domains.paths_a) > 0 and len(domains.paths_b) > 0
    by_name = {r.name: r for r in records}
    for path, label in zip(domains.paths_a + domains.paths_b, domains.labels_a + domains.labels_b):
        record = by_name[path.split("/")[-1]]
        assert path.endswith(".jpg.chip.jpg")
        assert (label.age, label.gender, label.race) == (record.identity.age_look, record.identity.gender_look,
                                                          record.identity.ethnicity_look)
    name = records[0].name
    assert parse_utkface_name(name).age == records[0].identity.age_look
    images = np.concatenate([domains.images_a, domains.images_b])
    truth = synthetic.render_records([by_name[p.split("/")[-1]] for p in domains.paths_a + domains.paths_b])
    assert np.abs(images.astype(float) - truth).mean() < 6.0  # JPEG
    gender = synthetic.write_utkface(tmp_path / "gender", n=20, seed=4, task="gender", size=48)
    genders = [parse_utkface_name(p.name).gender for p in gender.iterdir()]
    assert 0 < sum(genders) < 20
    synthetic.write_utkface(tmp_path / "again", n=12, seed=4, task="age", size=64)
    assert _tree_digest(tmp_path / "u") == _tree_digest(tmp_path / "again")
    with pytest.raises(ValueError, match="task must be"):
        synthetic.write_utkface(tmp_path / "x", n=2, task="hair")


def test_command_line_writes_each_format(tmp_path, capsys):
    assert synthetic.main(["fer2013", "--n", "10", "--out", str(tmp_path / "f"), "--quiet"]) == 0
    assert (tmp_path / "f" / "fer2013.csv").is_file() and "wrote 10" in capsys.readouterr().out
    assert synthetic.main(["utkface", "--n", "3", "--out", str(tmp_path / "u"), "--size", "48", "--task", "gender",
                           "--quiet"]) == 0
    assert len(list((tmp_path / "u" / "UTKFace").iterdir())) == 3
    assert synthetic.main(["fer2013", "--n", "3", "--size", "64", "--out", str(tmp_path / "x")]) == 2
    with pytest.raises(SystemExit):
        synthetic.main(["openface", "--out", str(tmp_path / "o")])  # --n missing


def test_load_records_names_the_bad_line(tmp_path):
    csv_path = synthetic.write_fer2013(tmp_path, n=3, seed=0)
    sidecar = synthetic.records_path(csv_path)
    lines = sidecar.read_text().splitlines()
    sidecar.write_text("\n".join([lines[0], "{not json", lines[2]]) + "\n")
    with pytest.raises(DataError, match=r"fer2013.records.jsonl:2: not valid JSON"):
        synthetic.load_records(sidecar)
    record = json.loads(lines[0])
    sidecar.write_text(json.dumps(record | {"version": 0}) + "\n")
    with pytest.raises(DataError, match=":1: record written by renderer version 0"):
        synthetic.load_records(sidecar)
    with pytest.raises(DataError, match="no such ground-truth sidecar"):
        synthetic.load_records(tmp_path / "missing.jsonl")


# --- the numbers the data set promises (slow) ------------------------------------------------------------------


@pytest.mark.slow
def test_classes_are_learnable_by_logistic_regression_on_raw_pixels():
    from bench.bench_synthetic import class_learnability

    accuracy = class_learnability(train=7000, test=3000)
    assert accuracy >= 0.90


@pytest.mark.slow
def test_two_identities_differ_more_than_two_expressions_of_one():
    from bench.bench_synthetic import identity_versus_expression

    between_identities, between_expressions = identity_versus_expression(pairs=400)
    assert between_identities > between_expressions


@pytest.mark.slow
def test_aus_are_recoverable_by_ridge_regression_on_raw_pixels():
    from bench.bench_synthetic import au_recoverability

    mae, baseline = au_recoverability(train=3000, test=1000)
    assert mae < 0.5 * baseline


@pytest.mark.slow
def test_rendering_speed_48_gray():
    from bench.bench_synthetic import faces_per_second

    rate = max(faces_per_second(6000, 48, 1) for _ in range(2))  # best of two: the machine may be shared
    assert rate >= 2000, f"{rate:.0f} faces/s at 48x48 gray (is the machine busy?)"


def test_records_rendered_at_another_size_match_the_stored_faces_as_a_loader_resizes_them(tmp_path):
    """Truth for a model that reads 48 px faces stored at 64 px must be drawn as the loader gives them: drawn at 64
    and resized, not drawn at 48 (whose strokes anti-alias differently)."""
    from ccyclegan.data.openface import read_openface
    from ccyclegan.data.synthetic_faces import render_records
    from ccyclegan.data.synthetic_writers import load_records, write_openface

    root = write_openface(tmp_path / "of", n=6, seed=2, size=64)
    csv_path = next(root.rglob("*.csv"))
    loaded = read_openface(csv_path, size=48)
    records = load_records(next(root.rglob("*.records.jsonl")))
    np.testing.assert_array_equal(render_records(records, size=48, channels=3), loaded.images)
    assert render_records(records, size=64, channels=3).shape == (6, 64, 64, 3)

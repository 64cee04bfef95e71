"""Using a trained two-domain CycleGAN: `translate` faces A -> B and B -> A with their cycle reconstructions (and
chained through a second run, e.g. age then gender, as a grid), and `evaluate` a run on held-out faces.

evaluate reports the domain-transfer accuracy of the translations as judged by a separately trained domain
classifier (`python train.py --family classifier --task domain ...`) beside that judge's accuracy on the real faces,
the cycle L1, and on synthetic data the identity preservation: the same face rendered with the other attribute (the
same identity, photo and expression; only the attribute and what the renderer derives from it, e.g. wrinkles and
grey hair for age, differ) is the ground truth of a translation, compared with two baselines: the input unchanged,
and the mean face of the target domain.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ccyclegan.errors import UsageError

DIRECTIONS = ("a2b", "b2a", "both")
IDENTITY_SEED = 20_240  # the seed of the synthetic identity pairs (fixed: reports are repeatable)
PICTURE_FACES = 4  # faces per domain in the evaluation picture


@dataclass
class CycleGANRun:
    """A trained run: its two generators, its config (domain names, schedule) and where it is."""

    G_AB: object
    G_BA: object
    config: object  # train.cyclegan.CycleGANConfig
    context: dict
    path: Path

    @property
    def names(self) -> tuple[str, str]:
        return tuple(self.config.domain_names) or ("A", "B")

    @property
    def size(self) -> int:
        return self.config.final_size

    def translate(self, images: np.ndarray, direction: str) -> np.ndarray:
        from train.cyclegan import translate_with

        if direction not in ("a2b", "b2a"):
            raise UsageError(f"direction must be a2b or b2a, got {direction!r}")
        return translate_with(self.G_AB if direction == "a2b" else self.G_BA, _unit(images))


def _unit(images: np.ndarray) -> np.ndarray:
    from ccyclegan.data.pipeline import unit_range_array

    images = np.asarray(images)
    if images.ndim != 4 or images.shape[-1] != 3:
        raise UsageError(f"expected RGB faces (N, H, W, 3), got an array of shape {images.shape}")
    return unit_range_array(images)


def load_run(path) -> CycleGANRun:
    """A cyclegan run folder (or one of its generator_*.keras files): the exported generators when the run ended,
    else the networks of its newest intact checkpoint (a run still training or stopped)."""
    import keras

    import models.cyclegan  # noqa: F401  (registers ReflectionPad2D for deserialisation)
    from ccyclegan.modelio import load_keras_model
    from ccyclegan.run import read_config, restore_networks
    from models.cyclegan import build_generator
    from train.cyclegan import CycleGANConfig

    path = Path(path)
    run_dir = path.parent if path.suffix == ".keras" else path
    if not run_dir.is_dir():
        raise FileNotFoundError(f"{path}: no such run folder; --model is a `--family cyclegan` run folder")
    saved, context = read_config(run_dir)
    try:
        config = CycleGANConfig(**{k: v for k, v in saved.items() if k in CycleGANConfig.__dataclass_fields__})
    except (TypeError, ValueError) as error:
        raise UsageError(f"{run_dir / 'config.json'}: not a cyclegan run's config ({error})") from None
    files = [run_dir / "generator_ab.keras", run_dir / "generator_ba.keras"]
    if all(f.is_file() for f in files):
        generators = [load_keras_model(f, "generator", hint="a cyclegan run folder") for f in files]
    else:
        generators = [build_generator(config.width, config.residual_blocks, name=n)
                      for n in ("generator_ab", "generator_ba")]
        used = restore_networks(run_dir, {"G_AB": generators[0], "G_BA": generators[1]})
        print(f"{run_dir} has no exported generators yet: using its checkpoint {Path(used).name}")
    del keras
    return CycleGANRun(generators[0], generators[1], config, context, run_dir)


# -- translate -------------------------------------------------------------------------------------------------------
@dataclass
class TranslateSettings:
    model: str
    input: str
    output: str | None = None  # default: <run>/translations
    detect: bool = True
    limit: int = 1000
    direction: str = "both"
    chain: str | None = None  # a second run applied after the first (e.g. age then gender)

    def __post_init__(self):
        if self.limit < 1:
            raise UsageError(f"the number of inputs (--eval-n) must be >= 1, got {self.limit}")
        if self.direction not in DIRECTIONS:
            raise UsageError(f"--direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")


def translate_command(args: argparse.Namespace) -> dict:
    if not args.model or not args.input:
        raise UsageError("--mode translate needs --model (a cyclegan run folder) and --input (a photo or a folder)")
    return translate(TranslateSettings(model=args.model, input=args.input, output=args.output,
                                       detect=not args.no_detect, limit=args.eval_n, direction=args.direction,
                                       chain=args.chain))


def _short(name: str) -> str:
    return name.replace("..", "-")


def translation_rows(run: CycleGANRun, faces: np.ndarray, direction: str = "both"):
    """Per face one row: input, then for each direction asked the translation and its cycle reconstruction."""
    a, b = run.names
    columns = ["input"]
    panels = [list(_unit(faces))]
    if direction in ("a2b", "both"):
        forward = run.translate(faces, "a2b")
        panels += [list(forward), list(translate_back(run.G_BA, forward))]
        columns += [f"as {_short(b)}", "cycle"]
    if direction in ("b2a", "both"):
        backward = run.translate(faces, "b2a")
        panels += [list(backward), list(translate_back(run.G_AB, backward))]
        columns += [f"as {_short(a)}", "cycle"]
    return [list(row) for row in zip(*panels)], columns


def translate_back(generator, images: np.ndarray) -> np.ndarray:
    from train.cyclegan import translate_with

    return translate_with(generator, images)


def chain_rows(first: CycleGANRun, second: CycleGANRun, face: np.ndarray):
    """One face through every combination: rows = the first run's (input, A->B, B->A), columns = the second run's
    (as is, A->B, B->A), e.g. age then gender."""
    x = _unit(face[None])
    firsts = [x, first.translate(x, "a2b"), first.translate(x, "b2a")]
    rows = [[f[0], second.translate(f, "a2b")[0], second.translate(f, "b2a")[0]] for f in firsts]
    a1, b1 = map(_short, first.names)
    a2, b2 = map(_short, second.names)
    return rows, ["input", f"as {b1}", f"as {a1}"], ["as is", f"then as {b2}", f"then as {a2}"]


def translate(settings: TranslateSettings) -> dict:
    """Translate a photo or a folder of photos (faces found and cropped unless detect=False); writes one grid of
    all faces (`translations.png`) and, with a chain, one grid per face; returns the paths."""
    from ccyclegan.data.photos import load_faces
    from ccyclegan.viz import rows_grid, save_png

    run = load_run(settings.model)
    source = Path(settings.input)
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such photo or folder")
    paths = [source]
    if source.is_dir():
        from ccyclegan.data.photos import list_images

        paths = list_images(source)[:settings.limit]
        if not paths:
            raise FileNotFoundError(f"{source}: no image files in this folder")
    faces = load_faces(paths, size=run.size, channels=3, detect=settings.detect)
    out = Path(settings.output) if settings.output else run.path / "translations"
    rows, columns = translation_rows(run, faces.images, settings.direction)
    names = [Path(p).name[:24] for p in faces.paths]
    written = [save_png(rows_grid(rows, row_titles=names, column_titles=columns, panel_inches=1.3),
                        out / "translations.png")]
    if settings.chain:
        second = load_run(settings.chain)
        for face, path in zip(faces.images, faces.paths):
            grid, row_titles, column_titles = chain_rows(run, second, face)
            written.append(save_png(rows_grid(grid, row_titles=row_titles, column_titles=column_titles,
                                              panel_inches=1.3), out / f"{Path(path).stem}_chain.png"))
    print(f"Wrote {len(written)} picture(s) to {out}")
    return {"written": [str(p) for p in written]}


# -- evaluate --------------------------------------------------------------------------------------------------------
@dataclass
class EvaluateSettings:
    model: str
    dataset: str | None = None  # default: the run's
    data: str | None = None  # default: the run's
    synthetic_n: int | None = None
    seed: int = 0
    eval_n: int = 1000  # held-out faces per domain, at most
    judge: str | None = None  # a domain judge from `--family classifier`
    output: str | None = None  # default: the run folder
    identity_n: int = 200  # synthetic identity pairs per direction (0: none)

    def __post_init__(self):
        if self.eval_n < 1 or self.identity_n < 0:
            raise UsageError(f"--eval-n must be >= 1 (got {self.eval_n}) and identity_n >= 0 (got "
                             f"{self.identity_n})")


def evaluate_command(args: argparse.Namespace) -> dict:
    if not args.model:
        raise UsageError("--mode evaluate needs --model (a cyclegan run folder)")
    dataset = None if args.dataset == "synthetic-utkface" and not args.data else args.dataset  # default: the run's
    return evaluate(EvaluateSettings(model=args.model, dataset=dataset, data=args.data,
                                     synthetic_n=args.synthetic_n, seed=args.seed, eval_n=args.eval_n,
                                     judge=args.judge, output=args.output))


def load_domain_judge(path, names):
    """A domain judge whose classes are the run's domains, in order; a UsageError naming both otherwise."""
    from models.classifier import load_judge

    judge = load_judge(path)
    if judge.task != "domain" or tuple(judge.names) != tuple(names):
        raise UsageError(f"{path}: judges {judge.task} ({', '.join(map(str, judge.names))}), but the run translates "
                         f"between {' and '.join(names)}; train a judge on those domains with `python train.py "
                         f"--family classifier --dataset ... --task domain`")
    return judge


ATTRIBUTE_OF_TASK = {"age": "age_look", "gender": "gender_look", "ethnicity": "ethnicity_look"}


def synthetic_attribute_pairs(task: str, n: int, size: int, seed: int = IDENTITY_SEED) -> tuple:
    """(faces in domain A, the same faces in domain B), uint8 (n, size, size, 3): one identity, photo and expression
    rendered twice with only the task's attribute changed (ages 20+k and 50+k with the same k for age), as the
    UTKFace writer renders them (200 px, JPEG quality 95, then resized like the training faces)."""
    import cv2

    from ccyclegan.data.synthetic import make_faces
    from ccyclegan.data.synthetic_writers import UTKFACE_ZOOM
    from train.cyclegan import resize_faces

    if task not in ATTRIBUTE_OF_TASK:
        raise UsageError(f"identity pairs exist for the tasks {', '.join(ATTRIBUTE_OF_TASK)}, not {task!r}")
    offsets = np.random.default_rng(seed).integers(0, 10, n)
    values = {"age": (20 + offsets, 50 + offsets), "gender": (0, 1), "ethnicity": (0, 1)}[task]
    sides = []
    for value in values:
        faces = make_faces(n, seed=seed, size=200, channels=3, labels="fer",
                           identity={ATTRIBUTE_OF_TASK[task]: value}, zoom=UTKFACE_ZOOM, aligned=True)
        jpeg = [cv2.imdecode(cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 95])[1], cv2.IMREAD_UNCHANGED)
                for image in faces.images]  # the same bytes round trip as the writer's (channel order kept)
        sides.append(resize_faces(np.stack(jpeg), size))
    return sides[0], sides[1]


def identity_report(run: CycleGANRun, faces_a: np.ndarray, faces_b: np.ndarray) -> tuple[dict, dict]:
    """Ground-truth L1 ([-1, 1] units) of each direction's translations against the same faces in the other domain,
    with the baselines: the input unchanged and the target domain's mean face."""
    from ccyclegan.metrics import ground_truth_l1

    report, arrays = {}, {}
    for direction, source, truth in (("a2b", faces_a, faces_b), ("b2a", faces_b, faces_a)):
        translated = run.translate(source, direction)
        truth_unit, source_unit = _unit(truth), _unit(source)
        mean_face = np.broadcast_to(truth_unit.mean(axis=0, keepdims=True), truth_unit.shape)
        report[direction] = {"translation": ground_truth_l1(translated, truth_unit),
                             "unchanged": ground_truth_l1(source_unit, truth_unit),
                             "domain_mean": ground_truth_l1(mean_face, truth_unit)}
        arrays[direction] = (source_unit, translated, truth_unit)
    report["pairs"] = int(len(faces_a))
    report["unit"] = "mean |pixel difference| in [-1, 1] units"
    return report, arrays


def evaluate(settings: EvaluateSettings) -> dict:
    """Translate held-out faces both ways; judge, cycle L1, identity (synthetic); writes evaluation.json and
    evaluation.png into the run folder (or --output); returns the report."""
    from ccyclegan import metrics
    from ccyclegan.data.sources import source_spec
    from ccyclegan.viz import rows_grid, save_png
    from train.cyclegan import load_domains, read_size, resize_faces

    run = load_run(settings.model)
    dataset = settings.dataset if settings.dataset not in (None, "fer2013") else run.context.get("dataset")
    data = settings.data or run.context.get("data")
    if dataset is None:
        raise UsageError(f"{run.path}: its config names no dataset; pass --dataset")
    spec = source_spec(dataset)
    if data and spec.synthetic and Path(data).name == "UTKFace":
        data = str(Path(data).parent)  # the run records the image folder; the synthetic source takes its parent
    source = load_domains(dataset, data, run.config, synthetic_n=settings.synthetic_n, seed=settings.seed,
                          size=read_size(run.config, spec.image_size))
    if tuple(source.class_names) != run.names:
        raise UsageError(f"the data's domains {source.class_names} are not the run's {run.names}")
    held = source.held_out
    rng = np.random.default_rng(settings.seed)
    sides = []
    for label in (0, 1):
        faces = held.images_of(label)
        chosen = np.sort(rng.choice(len(faces), min(settings.eval_n, len(faces)), replace=False))
        sides.append(resize_faces(faces[chosen], run.size))
    real_a, real_b = sides
    fake_b, fake_a = run.translate(real_a, "a2b"), run.translate(real_b, "b2a")
    cycle_a, cycle_b = translate_back(run.G_BA, fake_b), translate_back(run.G_AB, fake_a)
    report = {"model": str(run.path), "dataset": dataset, "split": "test (held out)", "size": run.size,
              "domains": list(run.names), "faces": [int(len(real_a)), int(len(real_b))],
              "cycle_l1": {"a": metrics.reconstruction_l1(_unit(real_a), cycle_a),
                           "b": metrics.reconstruction_l1(_unit(real_b), cycle_b)}}
    report["cycle_l1"]["mean"] = (report["cycle_l1"]["a"] * len(real_a) + report["cycle_l1"]["b"] * len(real_b)) / (
        len(real_a) + len(real_b))
    if settings.judge:
        judge = load_domain_judge(settings.judge, run.names)
        real_scores = judge.scores(np.concatenate([_unit(real_a), _unit(real_b)]))
        real_labels = np.repeat([0, 1], [len(real_a), len(real_b)])
        fake_scores = judge.scores(np.concatenate([fake_b, fake_a]))
        report["judge"] = str(settings.judge)
        report.update(metrics.transfer_report(real_scores, real_labels, fake_scores, 1 - real_labels,
                                              class_names=run.names))
    else:
        report["judge"] = None
    rows, titles = [], []
    shown = min(PICTURE_FACES, len(real_a), len(real_b))
    for name, real, fake, cycle in (("A", real_a, fake_b, cycle_a), ("B", real_b, fake_a, cycle_b)):
        for i in range(shown):
            rows.append([_unit(real[i:i + 1])[0], fake[i], cycle[i]])
            titles.append(f"{name}: {_short(run.names[0 if name == 'A' else 1])}")
    columns = ["input", "translated", "cycle"]
    task = run.config.task
    if spec.synthetic and task in ATTRIBUTE_OF_TASK and settings.identity_n:
        pairs_a, pairs_b = synthetic_attribute_pairs(task, settings.identity_n, run.size)
        report["identity"], arrays = identity_report(run, pairs_a, pairs_b)
        for i, row in enumerate(rows):
            direction = "a2b" if i < shown else "b2a"
            source, translated, truth = arrays[direction]
            row += [None, source[i % shown], translated[i % shown], truth[i % shown]]
        columns += ["", "same face", "translated", "truth"]
    out = Path(settings.output) if settings.output else run.path
    out.mkdir(parents=True, exist_ok=True)
    (out / "evaluation.json").write_text(json.dumps(report, indent=2, default=float))
    save_png(rows_grid(rows, row_titles=titles, column_titles=columns, panel_inches=1.2), out / "evaluation.png")
    print(format_report(report))
    print(f"report in {out / 'evaluation.json'}, picture {out / 'evaluation.png'}")
    return report


def format_report(report: dict) -> str:
    a, b = report["domains"]
    lines = [f"{report['model']}: {report['faces'][0]} + {report['faces'][1]} held-out faces at {report['size']} px"]
    if report.get("judge"):
        per = report["per_class"]
        lines += [f"judge {report['judge']}: accuracy on real faces {report['judge_real_accuracy']:.4f}",
                  f"domain-transfer accuracy {report['transfer_accuracy']:.4f} (A->B judged {b}: "
                  f"{per[b]['transfer_accuracy']:.4f}; B->A judged {a}: {per[a]['transfer_accuracy']:.4f}; relative "
                  f"to the judge's real accuracy {report['relative_transfer']:.4f})"]
    else:
        lines.append("no --judge: no transfer accuracy (train one with `python train.py --family classifier "
                     "--task domain`)")
    cycle = report["cycle_l1"]
    lines.append(f"cycle L1 ([-1, 1] units): A {cycle['a']:.4f}, B {cycle['b']:.4f}, mean {cycle['mean']:.4f}")
    if "identity" in report:
        for direction, row in report["identity"].items():
            if isinstance(row, dict):
                lines.append(f"identity ({direction}, {report['identity']['pairs']} synthetic pairs): translation vs "
                             f"the same face in the other domain {row['translation']:.4f}; baselines: input unchanged "
                             f"{row['unchanged']:.4f}, target domain's mean face {row['domain_mean']:.4f}")
    return "\n".join(lines)

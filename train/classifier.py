"""Classifier trainer, the judges of every family: `python train.py --family classifier --dataset NAME [--arch ...]`.

The task follows from what the source conditions on (`--task` may say it explicitly, and must agree):
classes -> a 7-way expression classifier (FER2013), domains -> a 2-way domain classifier (UTKFace), aus -> a
17-output AU regressor (OpenFace, GANimation; intensities / 5 in [0, 1], trained with MSE or L1).

FER2013: trains on Training, early-stops on PublicTest (patience, best weights restored), reports PrivateTest:
accuracy, per-class accuracy, a confusion-matrix PNG and scikit-learn's classification report. The originals
selected and reported on the same test split (PublicTest + PrivateTest) and so overstated their accuracy; here model
selection sees only PublicTest and the final score is PrivateTest (docs/classifier.md). Sources without a third
split early-stop on their held-out split and report on it too (metrics.json says so). AU regressors report the mean
absolute error per AU and overall beside the error of predicting the training mean.

Every run saves `classifier.keras` with `judge.json` beside it (task, names, input shape), which
`models.classifier.load_judge` reads. The epochs run on the shared loop and run folders (`ccyclegan.loop`,
`ccyclegan.run`): progress bar, CSV log, TensorBoard, checkpoints, config.json and summary.json, a bad command that
fails before creating anything, and `--resume` that refuses changed settings except `resumable_fields`.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from ccyclegan import metrics
from ccyclegan.data.pipeline import image_dataset, steps_per_epoch
from ccyclegan.errors import UsageError
from ccyclegan.labels import AU_CODES, FER_CLASSES
from ccyclegan.loop import CsvLog, LoopSettings
from ccyclegan.run import RunFolder, TrainingJob, fit
from ccyclegan.viz import plot_confusion_matrix
from models.classifier import (  # class_scores and is_label_match live with the models; re-exported here
    AU_NAMES,
    JUDGE_MODEL_FILE,
    TASKS,
    augmentation_block,
    build_c1_label_match,
    build_c2_resnet50,
    build_discriminator_style_classifier,
    build_judge,
    class_scores,
    is_label_match,
    save_judge,
)

ARCHITECTURES = ("judge", "c2", "c1", "discriminator-style")
# Per-architecture defaults: the judge's own recipe, and the originals' (classifier2.py: Adam(2e-4, 0.5),
# EarlyStopping patience 20, ReduceLROnPlateau factor 0.2 patience 5 min 1e-5, no augmentation).
ARCH_DEFAULTS = {
    "judge": {"learning_rate": 1e-3, "beta_1": 0.9, "patience": 8, "lr_patience": 3, "augment": True},
    "original": {"learning_rate": 2e-4, "beta_1": 0.5, "patience": 20, "lr_patience": 5, "augment": False},
}
LR_SCHEDULES = ("plateau", "cosine")
AU_LOSSES = ("mse", "l1")
LOG_COLUMNS = ("epoch", "batch", "loss", "accuracy")
VALIDATION_COLUMNS = ("epoch", "val_accuracy", "val_loss", "best_val_accuracy", "learning_rate")
AU_LOG_COLUMNS = ("epoch", "batch", "loss", "mae")
AU_VALIDATION_COLUMNS = ("epoch", "val_mae", "val_loss", "best_val_mae", "learning_rate")
# What a source conditions on decides the task; `--task` can only confirm it.
CONDITIONING_TASKS = {"classes": "expression", "domains": "domain", "aus": "au"}
# The judge's dropout before its head: classes keep the judge's recipe; an AU regressor on a few hundred faces
# learned nothing in 300 steps at 0.4 (held-out MAE 0.195 against 0.154 at 0, on 270 synthetic faces).
DEFAULT_DROPOUT = {"expression": 0.4, "domain": 0.4, "au": 0.0}
MAX_DEFAULT_IMAGE_SIZE = 128  # larger sources (UTKFace's 200 px chips) are read at this size unless --image-size


@dataclass
class ClassifierConfig:
    """Everything that defines a classifier run (saved as config.json in the run folder)."""

    arch: str = "judge"
    task: str = "expression"  # expression (FER classes), domain (two domains) or au (17 AU intensities)
    au_loss: str = "mse"  # au only: mse or l1
    width: int = 32  # judge only: filters of the first stage
    dropout: float | None = None  # judge only, before the head; None: 0.4 for classes, 0 for AUs (DEFAULT_DROPOUT)
    imagenet_weights: str | None = None  # c1/c2 only: local ResNet50 no-top weights file
    epochs: int = 60
    batch_size: int = 64
    learning_rate: float | None = None  # None: per-architecture default (ARCH_DEFAULTS)
    beta_1: float | None = None
    patience: int | None = None  # epochs without a better selection score (PublicTest accuracy, ...) before stopping
    lr_patience: int | None = None  # epochs without improvement before the learning rate is cut
    lr_factor: float = 0.2
    min_lr: float = 1e-5
    lr_schedule: str = "plateau"  # plateau: cut on a stalled selection score; cosine: decay to 1% over the run
    augment: bool | None = None  # flips + shifts/rotations; None: on for the judge, off for the originals
    eval_batch_size: int = 256
    seed: int = 0
    log_style: str = "bar"
    num_classes: int = len(FER_CLASSES)  # classes, domains or AUs: the model's outputs
    image_size: int | None = None  # the size the faces were read at (recorded; None: the source's own)

    def __post_init__(self):
        if self.arch not in ARCHITECTURES:
            raise ValueError(f"--arch must be one of {ARCHITECTURES}, got {self.arch!r}")
        if self.task not in TASKS:
            raise ValueError(f"--task must be one of {TASKS}, got {self.task!r}")
        if self.task == "au" and self.arch == "c1":
            raise UsageError("--arch c1 answers whether a label matches a face and cannot regress AU intensities; "
                             "use --arch judge, c2 or discriminator-style for --task au")
        if self.au_loss not in AU_LOSSES:
            raise ValueError(f"au_loss must be one of {AU_LOSSES}, got {self.au_loss!r}")
        if self.dropout is None:
            self.dropout = DEFAULT_DROPOUT[self.task]
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        defaults = ARCH_DEFAULTS["judge" if self.arch == "judge" else "original"]
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)
        for name in ("width", "epochs", "batch_size", "patience", "lr_patience", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not 0 < self.lr_factor <= 1:
            raise ValueError(f"lr_factor must be in (0, 1], got {self.lr_factor}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {LR_SCHEDULES}, got {self.lr_schedule!r}")


def build_classifier(config: ClassifierConfig, input_shape=(48, 48, 1)) -> keras.Model:
    """The model `config.arch` names for images of `input_shape` in [-1, 1] (C1 also takes an int label): softmax
    over `config.num_classes` classes, or for the AU task a sigmoid per AU."""
    activation = "sigmoid" if config.task == "au" else "softmax"
    gray = input_shape[-1] == 1
    if config.arch == "judge":
        return build_judge(input_shape, config.num_classes, config.width, config.dropout,
                           output_activation=activation)
    if config.arch == "c2":
        return build_c2_resnet50(config.imagenet_weights, input_shape, config.num_classes, gray_input=gray,
                                 output_activation=activation)
    if config.arch == "c1":
        return build_c1_label_match(config.imagenet_weights, input_shape, config.num_classes, gray_input=gray)
    return build_discriminator_style_classifier(input_shape, config.num_classes, output_activation=activation)


def _wrong_labels(labels, num_classes: int, seed=None, rng: np.random.Generator | None = None):
    """A uniformly random class other than each label (the originals' 'wrong label' pairs)."""
    if rng is not None:
        return (labels + rng.integers(1, num_classes, size=len(labels))) % num_classes
    offsets = tf.random.uniform(tf.shape(labels), 1, num_classes, dtype=labels.dtype, seed=seed)
    return (labels + offsets) % num_classes


def make_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer, augment: keras.layers.Layer | None = None,
                    num_classes: int = len(FER_CLASSES)):
    """One `tf.function` update: (images [-1, 1], int labels) -> {"loss", "accuracy"} tensors.

    7-way models minimise sparse categorical cross-entropy. The label-match C1 sees each image twice, with its true
    label (target 1) and a random wrong label (target 0), under binary cross-entropy, as the original did.
    `augment` (a layer, e.g. `augmentation_block()`) is applied to the images first, in training mode.
    """
    label_match = is_label_match(model)
    optimizer.build(model.trainable_variables)  # create the slots now, so the step is traced once, not twice

    @tf.function
    def train_step(images, labels):
        labels = tf.cast(labels, tf.int32)
        if augment is not None:
            images = augment(images, training=True)
        with tf.GradientTape() as tape:
            if label_match:
                paired_labels = tf.concat([labels, _wrong_labels(labels, num_classes)], axis=0)
                targets = tf.concat([tf.ones_like(labels), tf.zeros_like(labels)], axis=0)[:, None]
                match = model([paired_labels[:, None], tf.concat([images, images], axis=0)], training=True)
                loss = keras.losses.binary_crossentropy(tf.cast(targets, match.dtype), match)
                correct = tf.cast(match >= 0.5, tf.int32) == targets
            else:
                probs = model(images, training=True)
                loss = keras.losses.sparse_categorical_crossentropy(labels, probs)
                correct = tf.cast(tf.argmax(probs, axis=-1), tf.int32) == labels
            loss = tf.reduce_mean(loss)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return {"loss": loss, "accuracy": tf.reduce_mean(tf.cast(correct, tf.float32))}

    return train_step


def make_au_train_step(model: keras.Model, optimizer: keras.optimizers.Optimizer,
                       augment: keras.layers.Layer | None = None, loss: str = "mse"):
    """One `tf.function` update of an AU regressor: (images [-1, 1], AU vectors (B, 17) in [0, 1]) -> {"loss", "mae"}.

    `loss` "mse" (squared error) or "l1" (absolute error), averaged over the batch and the AUs.
    """
    if loss not in AU_LOSSES:
        raise ValueError(f"loss must be one of {AU_LOSSES}, got {loss!r}")
    optimizer.build(model.trainable_variables)

    @tf.function
    def train_step(images, aus):
        aus = tf.cast(aus, tf.float32)
        if augment is not None:
            images = augment(images, training=True)
        with tf.GradientTape() as tape:
            error = tf.cast(model(images, training=True), tf.float32) - aus
            value = tf.reduce_mean(tf.square(error)) if loss == "mse" else tf.reduce_mean(tf.abs(error))
        gradients = tape.gradient(value, model.trainable_variables)
        optimizer.apply(gradients, model.trainable_variables)
        return {"loss": value, "mae": tf.reduce_mean(tf.abs(error))}

    return train_step


def evaluate(model: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 256,
             num_classes: int = len(FER_CLASSES), seed: int = 0) -> dict:
    """Accuracy, loss, per-class accuracy and confusion matrix of uint8 or [-1, 1] images with int labels.

    For C1 the class is the label with the highest match score (a 7-way accuracy comparable to the others);
    `label_match_accuracy` is the original's own number (true label -> 1, one random wrong label -> 0).
    """
    scores = class_scores(model, images, batch_size, num_classes)
    return score_report(scores, labels, label_match=is_label_match(model), seed=seed)


def score_report(scores: np.ndarray, labels, label_match: bool = False, seed: int = 0) -> dict:
    """`evaluate`'s numbers from (N, C) class scores already computed (e.g. to reuse them for a report)."""
    labels = np.asarray(labels, dtype=np.int64)
    num_classes = scores.shape[1]
    result = {
        "accuracy": metrics.accuracy(labels, scores),
        "per_class_accuracy": metrics.per_class_accuracy(labels, scores, num_classes).tolist(),
        "confusion_matrix": metrics.confusion_matrix(labels, scores, num_classes).tolist(),
        "num_examples": len(labels),
    }
    rows = np.arange(len(labels))
    if label_match:
        wrong = _wrong_labels(labels, num_classes, rng=np.random.default_rng(seed))
        true_match, wrong_match = scores[rows, labels], scores[rows, wrong]
        result["label_match_accuracy"] = float(np.mean(np.concatenate([true_match >= 0.5, wrong_match < 0.5])))
        clipped = np.clip(np.concatenate([true_match, 1 - wrong_match]), 1e-7, 1.0)
    else:
        clipped = np.clip(scores[rows, labels], 1e-7, 1.0)
    result["loss"] = float(-np.mean(np.log(clipped)))
    return result


def au_report(predicted: np.ndarray, aus, loss: str = "mse") -> dict:
    """MAE / RMSE overall and per AU (`ccyclegan.metrics.au_regression_error`), the training loss and the count."""
    aus = np.asarray(aus, dtype=np.float64)
    result = metrics.au_regression_error(predicted, aus, AU_CODES)
    error = np.asarray(predicted, dtype=np.float64) - aus
    result["loss"] = float(np.mean(error**2) if loss == "mse" else np.mean(np.abs(error)))
    result["num_examples"] = len(aus)
    return result


def evaluate_aus(model: keras.Model, images: np.ndarray, aus, batch_size: int = 256, loss: str = "mse") -> dict:
    """`au_report` of the model's AU predictions for uint8 or [-1, 1] images."""
    return au_report(class_scores(model, images, batch_size), aus, loss)


def write_au_report(result: dict, mean_baseline: dict, median_baseline: dict, path: Path, split: str) -> None:
    """A table of the MAE per AU beside the errors of predicting the training mean and the training median."""
    lines = [f"AU regressor on {split} ({result['num_examples']} faces; intensities / 5, in [0, 1])", "",
             f"{'AU':<8}{'MAE':>10}{'train-mean MAE':>16}{'train-median MAE':>18}"]
    rows = [(name, result["per_au_mae"][name], mean_baseline["per_au_mae"][name], median_baseline["per_au_mae"][name])
            for name in result["per_au_mae"]]
    rows.append(("all", result["mae"], mean_baseline["mae"], median_baseline["mae"]))
    lines += [f"{name:<8}{mae:>10.4f}{mean:>16.4f}{median:>18.4f}" for name, mae, mean, median in rows]
    path.write_text("\n".join(lines) + "\n")


@dataclass
class EvaluationSplits:
    """Which split selects the model (early stopping, LR cuts) and which one is reported, and their names."""

    selection: object
    report: object
    selection_name: str
    report_name: str
    selection_key: str  # as in metrics.json: public_test / test
    report_key: str  # private_test / held_out

    @property
    def separate(self) -> bool:
        return self.selection is not self.report


def evaluation_splits(data) -> EvaluationSplits:
    """FER2013's PublicTest selects and PrivateTest is reported; a source with two splits uses its held-out split
    for both (the reported number then saw model selection: slightly optimistic)."""
    splits = getattr(data, "splits", None)
    if splits is None:
        names = ("public_test", "private_test", "test")
        splits = {name: getattr(data, name) for name in names if getattr(data, name, None) is not None}
    if "public_test" in splits and "private_test" in splits:
        return EvaluationSplits(splits["public_test"], splits["private_test"], "PublicTest", "PrivateTest",
                                "public_test", "private_test")
    held_out = splits.get("test") if "test" in splits else getattr(data, "held_out", None)
    if held_out is None:
        raise ValueError("the data have no held-out split (expected public_test/private_test, or test)")
    return EvaluationSplits(held_out, held_out, "held-out", "held-out", "test", "held_out")


def _targets(split, task: str) -> np.ndarray:
    """AU vectors (float32) for the AU task, else int labels; an error if the split lacks them."""
    if task == "au":
        if getattr(split, "aus", None) is None:
            raise UsageError("the AU task needs AU vectors; this data set has class or domain labels")
        return np.asarray(split.aus, np.float32)
    if getattr(split, "labels", None) is None:
        raise UsageError(f"the {task} task needs labels; this data set has AU vectors only (use --task au)")
    return np.asarray(split.labels, np.int32)


def write_reports(model: keras.Model, result: dict, labels, scores, run_dir: Path, split: str,
                  class_names=FER_CLASSES) -> None:
    """The confusion-matrix PNG and scikit-learn's classification report for one split."""
    from sklearn.metrics import classification_report

    title = f"{model.name} on {split}: accuracy {result['accuracy']:.4f} ({result['num_examples']} images)"
    plot_confusion_matrix(result["confusion_matrix"], run_dir / "confusion_matrix.png", class_names, title)
    report = classification_report(labels, np.argmax(scores, axis=1), labels=list(range(len(class_names))),
                                   target_names=list(class_names), digits=4, zero_division=0)
    (run_dir / "classification_report.txt").write_text(f"{title}\n\n{report}")


def resumable_fields(config: ClassifierConfig) -> tuple[str, ...]:
    """Config fields a resumed run may change: those that decide how long it goes and how it reports, never what a
    step computes. `epochs` only under the plateau schedule (the cosine decay spans the planned steps, so more
    epochs would bend a schedule already half run); `patience` compares the stale-epoch counter the checkpoint
    keeps, so a new value only moves the stop; `log_style` and `eval_batch_size` change output and memory, not the
    numbers. Everything else (architecture, widths, optimizer, seed, batch, data size) would make the checkpoint
    another run's, so it is refused."""
    length = ("epochs",) if config.lr_schedule == "plateau" else ()
    return (*length, "patience", "log_style", "eval_batch_size")


def fit_classifier(config: ClassifierConfig, data, run_dir, *, max_steps: int | None = None,
                   time_limit: float | None = None, resume: bool = False,
                   class_names=None, dataset: str | None = None, data_path: str | None = None,
                   data_options: dict | None = None) -> tuple[keras.Model, dict]:
    """Train `config.arch` for `config.task` on data.train, select on one split and score another, save the judge.

    `data`: FER2013-like (`.train`, `.public_test`, `.private_test`) or a `LoadedSource` (`.splits` with `train` and
    `test`); each split has uint8 `.images` (N, H, W, C) and int `.labels` or float `.aus` (N, 17). class_names:
    the names of the outputs (default: `data.class_names`, else FER2013's classes or the AU codes). `dataset` and
    `data_path` (and `data_options`, e.g. the UTKFace domains) go into config.json and must match on `resume`.
    The run folder is the platform's (`ccyclegan.run`): a bad config or data fail before it is created, and
    `resume` refuses changed settings. Writes config.json, train_log.csv, validation_log.csv, tensorboard/,
    checkpoints/, best.weights.h5, classifier.keras + judge.json, metrics.json, summary.json, and
    confusion_matrix.png + classification_report.txt (classes and domains) or au_report.txt (AUs) for the reported
    split into `run_dir`.
    """
    task = config.task
    au = task == "au"
    run_dir = Path(run_dir)
    try:  # everything that can fail is checked before the run folder is created
        names = tuple(class_names or getattr(data, "class_names", None) or (AU_NAMES if au else FER_CLASSES))
        if config.num_classes != len(names):
            config = replace(config, num_classes=len(names))
        splits = evaluation_splits(data)
        train_images, train_targets = data.train.images, _targets(data.train, task)
        selection_targets, report_targets = _targets(splits.selection, task), _targets(splits.report, task)
        input_shape = tuple(int(side) for side in train_images.shape[1:])
        spe = steps_per_epoch(len(train_images), config.batch_size)
        settings = LoopSettings(epochs=config.epochs, steps_per_epoch=spe, max_steps=max_steps,
                                time_limit=time_limit, log_style=config.log_style)
    except ValueError as error:
        raise UsageError(str(error)) from None
    context = {"dataset": dataset, "data": data_path, "task": task} | ({"data_options": data_options} if data_options
                                                                        else {})
    run = RunFolder(run_dir, config, context, resume=resume,
                    resumable=resumable_fields(config))
    run.prepare()  # refuses an existing run without --resume, or a resume with other settings; creates nothing

    keras.utils.set_random_seed(config.seed)
    model = build_classifier(config, input_shape)
    learning_rate = config.learning_rate
    if config.lr_schedule == "cosine":
        learning_rate = keras.optimizers.schedules.CosineDecay(config.learning_rate, settings.total_steps, alpha=0.01)
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate, beta_1=config.beta_1)
    step_augment = augmentation_block(seed=config.seed) if config.augment else None
    if au:
        step_fn = make_au_train_step(model, optimizer, augment=step_augment, loss=config.au_loss)
    else:
        step_fn = make_train_step(model, optimizer, augment=step_augment, num_classes=config.num_classes)

    def select(images, targets) -> tuple[dict, float]:
        """The selection split's figures and its score, higher is better: accuracy, or minus the AU MAE."""
        if au:
            result = evaluate_aus(model, images, targets, config.eval_batch_size, config.au_loss)
            return result, -result["mae"]
        result = evaluate(model, images, targets, config.eval_batch_size, config.num_classes, config.seed)
        return result, result["accuracy"]

    # Early-stopping state lives in the checkpoint, so a resumed run keeps its patience counters.
    best_score = tf.Variable(-np.inf if au else -1.0, dtype=tf.float64, trainable=False, name="best_val_score")
    best_epoch = tf.Variable(-1, dtype=tf.int64, trainable=False, name="best_epoch")
    stale_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="stale_epochs")
    stale_lr_epochs = tf.Variable(0, dtype=tf.int64, trainable=False, name="stale_lr_epochs")
    best_weights = run_dir / "best.weights.h5"
    validation_log = CsvLog(run_dir / "validation_log.csv", AU_VALIDATION_COLUMNS if au else VALIDATION_COLUMNS)

    def epoch_data(epoch: int):
        return image_dataset(train_images, train_targets, batch_size=config.batch_size, flip=config.augment,
                             seed=config.seed * 100_003 + epoch, repeat=False)

    def train_step(batch, epoch: int, batch_index: int):
        images, targets = batch
        return step_fn(images, targets)

    def on_epoch_end(epoch: int):
        result, score = select(splits.selection.images, selection_targets)
        current_lr = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        if score > best_score.numpy():
            best_score.assign(score)
            best_epoch.assign(epoch)
            stale_epochs.assign(0)
            stale_lr_epochs.assign(0)
            model.save_weights(best_weights)
        else:
            stale_epochs.assign_add(1)
            stale_lr_epochs.assign_add(1)
            if (config.lr_schedule == "plateau" and stale_lr_epochs.numpy() >= config.lr_patience
                    and current_lr > config.min_lr):
                optimizer.learning_rate.assign(max(current_lr * config.lr_factor, config.min_lr))
                stale_lr_epochs.assign(0)
        if au:
            values = {"val_mae": result["mae"], "val_loss": result["loss"],
                      "best_val_mae": -float(best_score.numpy()), "learning_rate": current_lr}
        else:
            values = {"val_accuracy": result["accuracy"], "val_loss": result["loss"],
                      "best_val_accuracy": float(best_score.numpy()), "learning_rate": current_lr}
        validation_log.append({"epoch": epoch, **values})
        return values, bool(stale_epochs.numpy() >= config.patience)

    def after_restore(done: int) -> None:
        """Drop the validation rows of epochs the restored checkpoint had not finished (as the loop does for its
        CSV), so that the resumed run logs each epoch once."""
        validation_log.truncate_after(lambda row: int(row["epoch"]) < done // spe)

    outcome = {}  # the loop's result and the metrics, filled in when training ends

    def after_run(result) -> None:
        outcome["loop"] = result
        if best_weights.exists():
            model.load_weights(best_weights)

    def finish(out: Path, rows: list) -> dict:
        """Score the best weights on the reported split, save the judge and the reports, write metrics.json."""
        loop_result = outcome["loop"]
        summary = {"arch": config.arch, "task": task, "names": list(names), "input_shape": list(input_shape),
                   "dataset": dataset, "params": int(model.count_params())}
        report_scores = class_scores(model, splits.report.images, config.eval_batch_size, config.num_classes)
        selection = select(splits.selection.images, selection_targets)[0] if splits.separate else None
        prefix = splits.report_key
        if au:
            report = au_report(report_scores, report_targets, config.au_loss)
            # Constant predictions: the training mean (the baseline), and the median, the best constant under
            # absolute error (most AUs are off in most faces, so the median is often 0 and beats the mean).
            baseline, median_baseline = (
                au_report(np.broadcast_to(statistic(train_targets, axis=0), report_targets.shape), report_targets,
                          config.au_loss) for statistic in (np.mean, np.median))
            summary.update({f"{prefix}_mae": report["mae"], f"{prefix}_rmse": report["rmse"],
                            f"{prefix}_per_au_mae": report["per_au_mae"], f"{prefix}_loss": report["loss"],
                            "baseline": "predict the training mean of every AU for every face",
                            "baseline_mae": baseline["mae"], "baseline_per_au_mae": baseline["per_au_mae"],
                            "median_baseline_mae": median_baseline["mae"], "au_loss": config.au_loss})
            if selection is not None:
                summary[f"{splits.selection_key}_mae"] = selection["mae"]
            write_au_report(report, baseline, median_baseline, out / "au_report.txt", splits.report_name)
        else:
            report = score_report(report_scores, report_targets, is_label_match(model), config.seed)
            if selection is not None:
                summary[f"{splits.selection_key}_accuracy"] = selection["accuracy"]
            summary.update({f"{prefix}_accuracy": report["accuracy"],
                            f"{prefix}_per_class_accuracy": dict(zip(names, report["per_class_accuracy"])),
                            f"{prefix}_loss": report["loss"]})
            if "label_match_accuracy" in report:
                summary[f"{prefix}_label_match_accuracy"] = report["label_match_accuracy"]
            write_reports(model, report, report_targets, report_scores, out, splits.report_name, names)
        summary.update({
            "selection_split": splits.selection_key,
            "report_split": splits.report_key,
            "best_epoch": int(best_epoch.numpy()) if best_weights.exists() else None,  # None: no epoch finished
            "epochs_completed": loop_result.epochs_completed,
            "steps": loop_result.steps,
            "stopped_early": loop_result.stopped_early,
            "train_seconds": loop_result.seconds,
            "total_seconds": time.time() - started,
            "model": str(out / JUDGE_MODEL_FILE),
        })
        if not splits.separate:
            summary["selection_note"] = ("this source has no third split: early stopping and the report both use "
                                         "the held-out split, so the reported figures saw model selection")
        headline = {key: value for key, value in summary.items()
                    if key.startswith(prefix) and not key.endswith("per_au_mae") or key.endswith("baseline_mae")}
        model_path = save_judge(model, out, task, names, arch=config.arch, dataset=dataset,
                                report_split=splits.report_key, **headline)
        (out / "metrics.json").write_text(json.dumps(summary, indent=2))
        outcome["metrics"] = summary
        return {**summary, "exports": {JUDGE_MODEL_FILE: str(model_path)}}

    # The classification runs keep the checkpoint key they always had, so older runs still resume.
    trackables = {"model": model, "optimizer": optimizer, "best_val_score" if au else "best_val_accuracy": best_score,
                  "best_epoch": best_epoch, "stale_epochs": stale_epochs, "stale_lr_epochs": stale_lr_epochs}
    job = TrainingJob(trackables=trackables, make_epoch_data=epoch_data, train_step=train_step,
                      log_columns=AU_LOG_COLUMNS if au else LOG_COLUMNS, on_epoch_end=on_epoch_end,
                      optimizers={"model": optimizer}, after_restore=after_restore, after_run=after_run,
                      finish=finish)
    started = time.time()
    fit(job, settings, run, resume=resume)
    return model, outcome["metrics"]


# --- the train.py plug-in ------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The classifier's own options (train.py adds --dataset, --data, --out, --seed, --resume, --max-steps, ...)."""
    group = parser.add_argument_group("classifier (--family classifier)")
    group.add_argument("--task", choices=TASKS, default=None,
                       help="expression: 7-way FER2013 classifier; domain: 2-way domain classifier (UTKFace); au: "
                            "17-AU regressor (OpenFace, GANimation). Default: what --dataset conditions on; a task "
                            "that does not fit the data set is an error")
    group.add_argument("--arch", choices=ARCHITECTURES, default="judge",
                       help="judge: the default judge (VGG-style CNN); c2: the original ResNet50 7-way classifier; "
                            "c1: the original ResNet50 label-match classifier; discriminator-style: T4's D as a "
                            "7-way classifier")
    group.add_argument("--domains", choices=("age", "gender", "ethnicity"), default=None,
                       help="domain task on UTKFace: the named pair of domains to tell apart, as the cyclegan "
                            "family's --task (default: age, 20s vs 50s)")
    group.add_argument("--domain-a", metavar="SPEC", default=None,
                       help="domain task on UTKFace: domain A instead of a named pair, e.g. 'age>=20,age<=29' "
                            "(with --domain-b)")
    group.add_argument("--domain-b", metavar="SPEC", default=None, help="domain task on UTKFace: domain B")
    group.add_argument("--width", type=int, default=32, help="judge: filters of the first stage (default 32)")
    group.add_argument("--dropout", type=float, default=None,
                       help="judge: dropout before the head (default 0.4 for classes and domains, 0 for AUs)")
    group.add_argument("--imagenet-weights", metavar="PATH",
                       help="c1/c2: a local ResNet50 no-top ImageNet weights file (default: random init)")
    group.add_argument("--au-loss", choices=AU_LOSSES, default="mse",
                       help="AU regressor loss: mean squared or mean absolute error (default: %(default)s)")
    group.add_argument("--image-size", type=int, default=None, metavar="PIXELS",
                       help="read the faces at this size (not FER2013, which is 48) (default: the data set's own, "
                            f"at most {MAX_DEFAULT_IMAGE_SIZE}: UTKFace's 200 px chips are read at "
                            f"{MAX_DEFAULT_IMAGE_SIZE})")
    group.add_argument("--learning-rate", type=float, help="Adam learning rate (default 1e-3 judge, 2e-4 originals)")
    group.add_argument("--beta-1", type=float, help="Adam beta_1 (default 0.9 judge, 0.5 originals)")
    group.add_argument("--patience", type=int,
                       help="stop after this many epochs without a better selection score (PublicTest accuracy on "
                            "FER2013; held-out accuracy or AU error elsewhere) (default 8 / 20)")
    group.add_argument("--lr-patience", type=int,
                       help="cut the learning rate by --lr-factor after this many such epochs (default 3 / 5)")
    group.add_argument("--lr-factor", type=float, default=0.2, help="learning-rate cut factor (default 0.2)")
    group.add_argument("--lr-schedule", choices=LR_SCHEDULES, default="plateau",
                       help="plateau: cut the rate when the selection score stalls (as the originals); cosine: "
                            "decay it to 1%% over -epochs (for short fixed-length runs) (default: %(default)s)")
    group.add_argument("--augment", action=argparse.BooleanOptionalAction, default=None,
                       help="flips, 10%% shifts and 10-degree rotations (default: on for the judge, off for the "
                            "originals, which trained without)")
    group.add_argument("--eval-batch-size", type=int, default=256, help="batch size for evaluation (default 256)")


def config_from_args(args: argparse.Namespace, task: str | None = None) -> ClassifierConfig:
    """The config of the command line; `task` (resolved from the data set) overrides `--task`."""
    return ClassifierConfig(
        arch=args.arch, task=task or getattr(args, "task", None) or "expression",
        au_loss=getattr(args, "au_loss", "mse"), width=args.width, dropout=getattr(args, "dropout", None),
        imagenet_weights=args.imagenet_weights,
        epochs=getattr(args, "epochs", None) or ClassifierConfig.epochs,
        batch_size=getattr(args, "batch_size", None) or ClassifierConfig.batch_size,
        learning_rate=args.learning_rate, beta_1=args.beta_1, patience=args.patience, lr_patience=args.lr_patience,
        lr_factor=args.lr_factor, lr_schedule=args.lr_schedule, augment=args.augment,
        eval_batch_size=args.eval_batch_size, seed=getattr(args, "seed", 0) or 0,
        log_style=getattr(args, "log_style", None) or "bar", image_size=getattr(args, "image_size", None),
    )


def task_for_source(spec, requested: str | None = None) -> str:
    """The task a data set trains (from what it conditions on); a `requested` task that does not fit is an error."""
    natural = CONDITIONING_TASKS[spec.conditioning]
    if requested is None or requested == natural:
        return natural
    shown = ", ".join(spec.class_names[:3]) + (", ..." if len(spec.class_names) > 3 else "")
    raise UsageError(f"--task {requested} does not fit --dataset {spec.name}: it conditions on {spec.conditioning} "
                     f"({shown}), which trains --task {natural}; drop --task or choose a data set with "
                     f"{_conditioning_of(requested)}")


def _conditioning_of(task: str) -> str:
    return {value: key for key, value in CONDITIONING_TASKS.items()}[task]


def run(args: argparse.Namespace) -> dict:
    """Load the data `--dataset/--data` name, train, write everything into `--out`; return the final metrics."""
    from ccyclegan.cli import default_run_dir, run_length
    from ccyclegan.data.sources import load_fer_source, load_source, source_spec

    if getattr(args, "strategy", "default") != "default" or getattr(args, "xla", False):
        raise UsageError("the classifier trains on one device without XLA (its augmentation layers have no XLA "
                         "kernel); drop --strategy/--xla")
    dataset = getattr(args, "dataset", "fer2013")
    spec = source_spec(dataset)
    task = task_for_source(spec, getattr(args, "task", None))
    image_size = getattr(args, "image_size", None)
    if image_size is not None and image_size < 32:
        raise UsageError(f"--image-size must be >= 32 (the judges pool four times), got {image_size}")
    if spec.format == "fer2013" and image_size not in (None, spec.image_size):
        raise UsageError(f"--image-size: FER2013 faces are {spec.image_size}x{spec.image_size}; drop --image-size")
    synthetic_n = getattr(args, "synthetic_n", None)  # None: the source's own default
    domains = _utkface_domains(args, spec)
    if spec.format != "fer2013" and image_size is None:
        image_size = min(spec.image_size, MAX_DEFAULT_IMAGE_SIZE)
    config = config_from_args(args, task=task)
    config = replace(config, image_size=image_size or spec.image_size)
    out = Path(args.out) if getattr(args, "out", None) else default_run_dir("classifier", f"{config.arch}-{dataset}")
    if spec.format == "fer2013":
        source = load_fer_source(dataset, getattr(args, "data", None), seed=config.seed,
                                 synthetic_n=synthetic_n)
        print(source.data.summary())
        data, names, data_path = source.data, FER_CLASSES, source.csv_path
    else:
        options = ({"size": image_size} if image_size != spec.image_size else {}) | domains
        data = load_source(dataset, getattr(args, "data", None), synthetic_n=synthetic_n, seed=config.seed, **options)
        names, data_path = data.class_names, data.path
        print(f"{dataset} ({data.path}): {len(data.train)} training and {len(data.held_out)} held-out faces of "
              f"{'x'.join(map(str, data.image_shape))}; task {task}: {', '.join(names)}")
    _, summary = fit_classifier(config, data, out, **run_length(args),
                                resume=bool(getattr(args, "resume", False)), class_names=names, dataset=dataset,
                                data_path=str(data_path), data_options=domains if spec.format != "fer2013" else None)
    print(_final_line(summary, out))
    return summary


def _utkface_domains(args: argparse.Namespace, spec) -> dict:
    """The UTKFace domain options of a domain judge (`--domains gender`, or `--domain-a`/`--domain-b`), checked:
    they name the two domains of a UTKFace source and mean nothing for any other."""
    domains = getattr(args, "domains", None)
    domain_a, domain_b = getattr(args, "domain_a", None), getattr(args, "domain_b", None)
    if domains is None and domain_a is None and domain_b is None:
        return {}
    if spec.format != "utkface":
        raise UsageError(f"--domains/--domain-a/--domain-b choose two UTKFace domains; --dataset {spec.name} has none")
    if (domain_a is None) != (domain_b is None):
        raise UsageError("--domain-a and --domain-b go together (they replace the --domains pair)")
    if domain_a is None:
        return {"task": domains}
    if domains is not None:
        raise UsageError("give --domains or --domain-a/--domain-b, not both: both name the two domains")
    from ccyclegan.data.utkface import parse_domain

    try:
        parse_domain(domain_a), parse_domain(domain_b)  # the specs' own errors, before any data is read
    except ValueError as error:
        raise UsageError(f"--domain-a/--domain-b: {error}") from None
    return {"task": None, "domain_a": domain_a, "domain_b": domain_b}


def _final_line(summary: dict, out: Path) -> str:
    """What the run reached, in one line."""
    best = f"best epoch {summary['best_epoch']}"
    if summary["task"] == "au":
        return (f"held-out AU mean absolute error {summary['held_out_mae']:.4f} (predicting the training mean: "
                f"{summary['baseline_mae']:.4f}, the median: {summary['median_baseline_mae']:.4f}), {best}; "
                f"wrote {out}")
    if summary["report_split"] == "private_test":
        return (f"PrivateTest accuracy {summary['private_test_accuracy']:.4f} (PublicTest "
                f"{summary['public_test_accuracy']:.4f}, {best}); wrote {out}")
    chance = 1.0 / len(summary["names"])
    return (f"held-out {summary['task']} accuracy {summary['held_out_accuracy']:.4f} (chance {chance:.2f}; also the "
            f"split early stopping watched), {best}; wrote {out}")

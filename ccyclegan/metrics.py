"""The numbers every family reports, as pure numpy/scipy functions over arrays (no model code here).

- Classification: `accuracy`, `per_class_accuracy`, `confusion_matrix`.
- Translation judged by a classifier: `transfer_accuracy` (translated images scored against their *target* class)
  and `transfer_report`, which always puts the judge's own accuracy on real images beside it, because a FER2013
  judge tops out near 73% on real faces and bounds what a translation can score.
- AU models: `au_regression_error` (MAE/RMSE overall and per AU, optional presence accuracy at a threshold).
- Images: `reconstruction_l1` (reconstruction or cycle error), `ground_truth_l1` (translated vs the true image, for
  synthetic data where the truth is known).
- Distribution distance: `frechet_distance` over features of a chosen extractor (see
  `models.classifier.judge_feature_extractor` / `inception_feature_extractor`) and `gaussian_frechet_distance`.

Class predictions may be given either as integer labels (N,) or as scores/probabilities (N, C), which are reduced
with argmax. Images may be uint8 0..255 or floats in [-1, 1]; both are compared in [-1, 1].
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.linalg

from ccyclegan.labels import AU_CODES, FER_CLASSES

# --- classification --------------------------------------------------------------------------------------------


def _as_class_predictions(predictions, n: int | None = None, what: str = "predictions") -> np.ndarray:
    """(N,) integer labels or (N, C) scores -> (N,) int64 labels."""
    predictions = np.asarray(predictions)
    if predictions.ndim == 2:
        if predictions.shape[1] == 0:
            raise ValueError(f"{what} has shape {predictions.shape}: no class scores")
        predictions = np.argmax(predictions, axis=1)
    elif predictions.ndim != 1:
        raise ValueError(f"{what} must be labels (N,) or class scores (N, C); got shape {predictions.shape}")
    elif predictions.dtype.kind == "f":
        if not np.all(np.isfinite(predictions)) or not np.all(predictions == np.round(predictions)):
            raise ValueError(f"{what} are 1-D floats that are not whole numbers; pass labels or (N, C) scores")
    if n is not None and len(predictions) != n:
        raise ValueError(f"{n} labels but {len(predictions)} {what}")
    return predictions.astype(np.int64)


def _as_labels(labels, what: str = "labels") -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"{what} must be a 1-D array of class indices; got shape {labels.shape}")
    if len(labels) == 0:
        raise ValueError(f"no {what} to score")
    return _as_class_predictions(labels, what=what)


def _check_range(labels: np.ndarray, num_classes: int, what: str) -> None:
    bad = np.flatnonzero((labels < 0) | (labels >= num_classes))
    if len(bad):
        raise ValueError(f"{what}[{bad[0]}] = {labels[bad[0]]} is outside 0..{num_classes - 1} "
                         f"({len(bad)} such entries)")


def accuracy(labels, predictions) -> float:
    """Fraction of examples whose predicted class equals the label."""
    labels = _as_labels(labels)
    predictions = _as_class_predictions(predictions, len(labels))
    return float(np.mean(labels == predictions))


def confusion_matrix(labels, predictions, num_classes: int = len(FER_CLASSES)) -> np.ndarray:
    """(C, C) int64 counts; row = true class, column = predicted class (scikit-learn's orientation)."""
    labels = _as_labels(labels)
    predictions = _as_class_predictions(predictions, len(labels))
    _check_range(labels, num_classes, "labels")
    _check_range(predictions, num_classes, "predictions")
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predictions), 1)
    return matrix


def per_class_accuracy(labels, predictions, num_classes: int = len(FER_CLASSES)) -> np.ndarray:
    """Recall of each class (correct / examples of that class), float64 (C,); NaN for a class with no example."""
    matrix = confusion_matrix(labels, predictions, num_classes)
    support = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, np.diag(matrix) / np.maximum(support, 1), np.nan)


# --- translation judged by a classifier --------------------------------------------------------------------------


def transfer_accuracy(judge_probs_or_predictions, target_labels) -> float:
    """Fraction of translated images the judge assigns to the class they were translated *to*."""
    return accuracy(target_labels, judge_probs_or_predictions)


def transfer_report(
    real_predictions,
    real_labels,
    translated_predictions,
    target_labels,
    class_names: Sequence[str] = FER_CLASSES,
) -> dict:
    """The judge's accuracy on real images beside the transfer accuracy, overall and per target class.

    `relative_transfer` = transfer / real accuracy: the fraction of the judge's own ceiling a translation reaches.
    Per-class entries are NaN for a class that never occurs.
    """
    num_classes = len(class_names)
    real = accuracy(real_labels, real_predictions)
    transfer = transfer_accuracy(translated_predictions, target_labels)
    real_per_class = per_class_accuracy(real_labels, real_predictions, num_classes)
    transfer_per_class = per_class_accuracy(target_labels, translated_predictions, num_classes)
    return {
        "judge_real_accuracy": real,
        "transfer_accuracy": transfer,
        "relative_transfer": transfer / real if real > 0 else float("nan"),
        "num_real": int(len(np.asarray(real_labels))),
        "num_translated": int(len(np.asarray(target_labels))),
        "per_class": {
            name: {"judge_real_accuracy": float(real_per_class[i]), "transfer_accuracy": float(transfer_per_class[i])}
            for i, name in enumerate(class_names)
        },
    }


def format_transfer_report(report: dict) -> str:
    """A small fixed-width table of `transfer_report`'s result, for logs and the console."""
    lines = [
        f"judge accuracy on real images: {report['judge_real_accuracy']:.4f} ({report['num_real']} images)",
        f"transfer accuracy:             {report['transfer_accuracy']:.4f} ({report['num_translated']} translations)",
        f"relative (transfer / real):    {report['relative_transfer']:.4f}",
        f"{'class':<10} {'real':>7} {'transfer':>9}",
    ]
    for name, row in report["per_class"].items():
        lines.append(f"{name:<10} {row['judge_real_accuracy']:>7.4f} {row['transfer_accuracy']:>9.4f}")
    return "\n".join(lines)


# --- action units --------------------------------------------------------------------------------------------------


def au_regression_error(predicted, target, au_codes: Sequence[int] = AU_CODES, threshold: float | None = None) -> dict:
    """MAE and RMSE of AU intensity vectors (N, K), overall and per AU (keyed `AU01`, ...).

    With `threshold`, also the presence accuracy: an AU counts as present when its intensity is >= threshold,
    and the prediction is right when presence agrees with the target (overall and per AU).
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if predicted.shape != target.shape or predicted.ndim != 2:
        raise ValueError(f"AU arrays must both be (N, K); got predicted {predicted.shape}, target {target.shape}")
    if predicted.shape[1] != len(au_codes):
        raise ValueError(f"AU vectors have {predicted.shape[1]} values but {len(au_codes)} AU codes were given")
    if len(predicted) == 0:
        raise ValueError("no AU vectors to score")
    for name, array in (("predicted", predicted), ("target", target)):
        if not np.all(np.isfinite(array)):
            row = int(np.flatnonzero(~np.all(np.isfinite(array), axis=1))[0])
            raise ValueError(f"{name} AU vectors hold a non-finite value (row {row})")
    error = predicted - target
    names = [f"AU{int(code):02d}" for code in au_codes]
    result = {
        "mae": float(np.mean(np.abs(error))),
        "rmse": float(np.sqrt(np.mean(error**2))),
        "per_au_mae": dict(zip(names, np.mean(np.abs(error), axis=0).tolist())),
        "per_au_rmse": dict(zip(names, np.sqrt(np.mean(error**2, axis=0)).tolist())),
    }
    if threshold is not None:
        agree = (predicted >= threshold) == (target >= threshold)
        result["presence_accuracy"] = float(np.mean(agree))
        result["per_au_presence_accuracy"] = dict(zip(names, np.mean(agree, axis=0).tolist()))
    return result


def critic_au_report(read_aus, real_faces, real_aus, generated, targets, unit: float = 1.0) -> dict:
    """How well a critic's AU head reads real faces (against their labels) and a generator's output (against its
    targets), times `unit`. Why: an AU-conditioned generator learns the AUs through that head alone, so a head that
    cannot read real faces explains a generator that does not move them (docs/aucgan.md)."""
    real = au_regression_error(np.asarray(read_aus(real_faces)) * unit, np.asarray(real_aus) * unit)
    fake = au_regression_error(np.asarray(read_aus(generated)) * unit, np.asarray(targets) * unit)
    return {"real_mae": real["mae"], "generated_mae": fake["mae"]}


def format_critic_au_report(report: dict) -> str:
    return (f"the critic's own AU head (what G learned the AUs from): {report['real_mae']:.4f} on the real faces, "
            f"{report['generated_mae']:.4f} from the targets on the translations")


# --- image errors --------------------------------------------------------------------------------------------------


def _to_unit_range(images, what: str) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float64) / 127.5 - 1.0
    images = images.astype(np.float64)
    if not np.all(np.isfinite(images)):
        raise ValueError(f"{what} hold non-finite values")
    return images


def _mean_l1(a, b, what_a: str, what_b: str) -> float:
    a, b = _to_unit_range(a, what_a), _to_unit_range(b, what_b)
    if a.shape != b.shape:
        raise ValueError(f"{what_a} {a.shape} and {what_b} {b.shape} differ in shape")
    if a.size == 0:
        raise ValueError(f"no {what_a} to compare")
    return float(np.mean(np.abs(a - b)))


def reconstruction_l1(originals, reconstructions) -> float:
    """Mean absolute error in [-1, 1] units between images and their reconstructions (or cycle outputs).

    The same number the training losses call `reconstr_loss` / cycle L1, so logs and evaluation agree.
    """
    return _mean_l1(originals, reconstructions, "originals", "reconstructions")


def ground_truth_l1(translated, true_images) -> float:
    """Mean absolute error in [-1, 1] units between translations and the true target-class images.

    Only synthetic data has a ground truth (the same face rendered with the target expression).
    """
    return _mean_l1(translated, true_images, "translated images", "true images")


# --- Frechet distance ----------------------------------------------------------------------------------------------


def _sqrtm_product(sigma1: np.ndarray, sigma2: np.ndarray, eps: float) -> np.ndarray:
    """sqrt(sigma1 @ sigma2), retried with eps * I added to both when the product is singular."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(len(sigma1)) * eps
        covmean = scipy.linalg.sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        largest_imaginary = float(np.max(np.abs(covmean.imag)))
        if largest_imaginary > 1e-3 * max(1.0, float(np.max(np.abs(covmean.real)))):
            raise ValueError(f"sqrt of the covariance product has an imaginary part of {largest_imaginary:.3g}; "
                             "the covariances are not positive semi-definite")
        covmean = covmean.real
    return covmean


def gaussian_frechet_distance(mu1, sigma1, mu2, sigma2, eps: float = 1e-6) -> float:
    """||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2)) in float64 (the FID formula).

    Tiny negative results from rounding (identical inputs give about -1e-12) are returned as 0.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    d = len(mu1)
    if mu2.shape != (d,) or sigma1.shape != (d, d) or sigma2.shape != (d, d):
        raise ValueError(f"Gaussian shapes do not match: mu1 {mu1.shape}, sigma1 {sigma1.shape}, "
                         f"mu2 {mu2.shape}, sigma2 {sigma2.shape}")
    for name, array in (("mu1", mu1), ("sigma1", sigma1), ("mu2", mu2), ("sigma2", sigma2)):
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} holds non-finite values")
    covmean = _sqrtm_product(sigma1, sigma2, eps)
    diff = mu1 - mu2
    distance = diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean)
    return max(float(distance), 0.0)


def feature_statistics(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance (normalised by n - 1) of (N, D) features, float64."""
    features = np.asarray(features, dtype=np.float64)
    if features.ndim != 2:
        raise ValueError(f"features must be (N, D); got shape {features.shape}")
    if len(features) < 2:
        raise ValueError(f"a covariance needs at least 2 feature vectors; got {len(features)}")
    if not np.all(np.isfinite(features)):
        row = int(np.flatnonzero(~np.all(np.isfinite(features), axis=1))[0])
        raise ValueError(f"features hold a non-finite value (row {row})")
    return features.mean(axis=0), np.atleast_2d(np.cov(features, rowvar=False, ddof=1))


def frechet_distance(features_a, features_b, eps: float = 1e-6) -> float:
    """Frechet distance between Gaussians fitted to two (N, D) feature sets (FID when the features are Inception's).

    Values depend on the extractor and its preprocessing: only compare numbers computed the same way.
    """
    features_a, features_b = np.asarray(features_a), np.asarray(features_b)
    if features_a.ndim == 2 and features_b.ndim == 2 and features_a.shape[1] != features_b.shape[1]:
        raise ValueError(f"feature sets differ in width: {features_a.shape[1]} vs {features_b.shape[1]}")
    mu1, sigma1 = feature_statistics(features_a)
    mu2, sigma2 = feature_statistics(features_b)
    return gaussian_frechet_distance(mu1, sigma1, mu2, sigma2, eps=eps)

"""Every metric against a case small enough to compute by hand, and the Frechet distance against closed forms."""

import numpy as np
import pytest
import scipy.linalg

from ccyclegan import metrics

LABELS = np.array([0, 0, 1, 1, 2, 2])
PREDICTED = np.array([0, 1, 1, 1, 0, 2])  # right on examples 0, 2, 3, 5


def test_accuracy_counts_matches_and_accepts_scores():
    assert metrics.accuracy(LABELS, PREDICTED) == pytest.approx(4 / 6)
    scores = np.eye(3)[PREDICTED] * 0.8 + 0.05  # argmax = PREDICTED
    assert metrics.accuracy(LABELS, scores) == pytest.approx(4 / 6)


def test_confusion_matrix_rows_are_true_classes():
    expected = np.array([[1, 1, 0],
                         [0, 2, 0],
                         [1, 0, 1]])
    np.testing.assert_array_equal(metrics.confusion_matrix(LABELS, PREDICTED, num_classes=3), expected)


def test_per_class_accuracy_is_recall_and_nan_for_absent_class():
    result = metrics.per_class_accuracy(LABELS, PREDICTED, num_classes=4)
    np.testing.assert_allclose(result[:3], [0.5, 1.0, 0.5])
    assert np.isnan(result[3])


@pytest.mark.parametrize(
    "labels, predictions, message",
    [
        (np.array([0, 1]), np.array([0]), "2 labels but 1 predictions"),
        (np.array([0, 9]), np.array([0, 1]), r"labels\[1\] = 9 is outside 0..2"),
        (np.array([0, 1]), np.array([0.5, 1.0]), "not whole numbers"),
        (np.zeros((2, 2)), np.array([0, 1]), "1-D array"),
    ],
)
def test_bad_label_inputs_are_named(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(labels, predictions, num_classes=3)


def test_transfer_accuracy_scores_against_the_target_not_the_source():
    targets = np.array([3, 3, 6, 0])
    judged = np.eye(7)[[3, 4, 6, 0]]  # the second translation was judged as class 4
    assert metrics.transfer_accuracy(judged, targets) == pytest.approx(0.75)


def test_transfer_report_puts_real_accuracy_beside_transfer():
    real_labels, real_predicted = np.array([3, 3, 6, 6]), np.array([3, 3, 6, 0])  # 0.75 on real images
    targets, translated = np.array([3, 6, 6, 3]), np.array([3, 6, 0, 0])  # 0.5 transfer
    report = metrics.transfer_report(real_predicted, real_labels, translated, targets)
    assert report["judge_real_accuracy"] == pytest.approx(0.75)
    assert report["transfer_accuracy"] == pytest.approx(0.5)
    assert report["relative_transfer"] == pytest.approx(0.5 / 0.75)
    assert report["per_class"]["Happy"] == {"judge_real_accuracy": 1.0, "transfer_accuracy": 0.5}
    assert np.isnan(report["per_class"]["Angry"]["judge_real_accuracy"])
    text = metrics.format_transfer_report(report)
    assert "judge accuracy on real images: 0.7500 (4 images)" in text
    assert "transfer accuracy:             0.5000 (4 translations)" in text


def test_au_regression_error_overall_per_au_and_presence():
    target = np.array([[0.0, 2.0], [1.0, 4.0]])
    predicted = np.array([[1.0, 2.0], [1.0, 1.0]])  # errors: [1, 0], [0, -3]
    result = metrics.au_regression_error(predicted, target, au_codes=(1, 12), threshold=1.5)
    assert result["mae"] == pytest.approx(1.0)
    assert result["rmse"] == pytest.approx(np.sqrt(10 / 4))
    assert result["per_au_mae"] == pytest.approx({"AU01": 0.5, "AU12": 1.5})
    assert result["per_au_rmse"] == pytest.approx({"AU01": np.sqrt(0.5), "AU12": np.sqrt(4.5)})
    # presence at 1.5: target [[F, T], [F, T]], predicted [[F, T], [F, F]]
    assert result["presence_accuracy"] == pytest.approx(0.75)
    assert result["per_au_presence_accuracy"] == pytest.approx({"AU01": 1.0, "AU12": 0.5})
    assert "presence_accuracy" not in metrics.au_regression_error(predicted, target, au_codes=(1, 12))


def test_au_regression_error_rejects_wrong_width_and_nan_rows():
    with pytest.raises(ValueError, match="2 values but 17 AU codes"):
        metrics.au_regression_error(np.zeros((3, 2)), np.zeros((3, 2)))
    bad = np.zeros((3, 2))
    bad[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"predicted AU vectors hold a non-finite value \(row 2\)"):
        metrics.au_regression_error(bad, np.zeros((3, 2)), au_codes=(1, 2))


def test_reconstruction_l1_in_unit_range_and_mixed_dtypes():
    originals = np.array([[0.0, 0.5], [-1.0, 1.0]])
    assert metrics.reconstruction_l1(originals, originals + 0.25) == pytest.approx(0.25)
    # uint8 255 is 1.0 and uint8 0 is -1.0 in [-1, 1] units
    truth = np.array([[255, 0]], dtype=np.uint8)
    assert metrics.ground_truth_l1(np.array([[0.0, -1.0]]), truth) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="differ in shape"):
        metrics.ground_truth_l1(np.zeros((1, 2)), np.zeros((2, 2)))


def _direct_frechet(mu1, sigma1, mu2, sigma2):
    """The textbook formula with scipy's sqrtm, no safeguards: the reference the library is checked against."""
    covmean = scipy.linalg.sqrtm(sigma1 @ sigma2).real
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(sigma1 + sigma2 - 2 * covmean))


def test_gaussian_frechet_distance_matches_closed_form_for_diagonal_covariances():
    mu1, mu2 = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    var1, var2 = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    # closed form: |mu1-mu2|^2 + sum (sqrt(v1) - sqrt(v2))^2 = 5 + (1 + 1 + 0)
    distance = metrics.gaussian_frechet_distance(mu1, np.diag(var1), mu2, np.diag(var2))
    assert distance == pytest.approx(7.0, abs=1e-9)


def test_gaussian_frechet_distance_matches_closed_form_for_commuting_covariances(rng):
    basis, _ = np.linalg.qr(rng.normal(size=(4, 4)))  # a shared random eigenbasis: the covariances commute
    eig1, eig2 = np.array([1.0, 2.0, 3.0, 4.0]), np.array([4.0, 2.0, 0.5, 1.0])
    sigma1, sigma2 = basis @ np.diag(eig1) @ basis.T, basis @ np.diag(eig2) @ basis.T
    mu1, mu2 = rng.normal(size=4), rng.normal(size=4)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(eig1) - np.sqrt(eig2)) ** 2)
    distance = metrics.gaussian_frechet_distance(mu1, sigma1, mu2, sigma2)
    assert distance == pytest.approx(expected, rel=1e-9)
    assert distance == pytest.approx(_direct_frechet(mu1, sigma1, mu2, sigma2), rel=1e-9)


def test_frechet_distance_of_samples_matches_direct_computation_and_converges(rng):
    a = rng.normal(loc=0.0, scale=1.0, size=(20000, 3))
    b = rng.normal(loc=0.5, scale=2.0, size=(20000, 3))
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    sigma_a, sigma_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)  # np.cov normalises by n - 1
    assert metrics.frechet_distance(a, b) == pytest.approx(_direct_frechet(mu_a, sigma_a, mu_b, sigma_b), rel=1e-9)
    # the population value: 3 * 0.5^2 + 3 * (1 - 2)^2 = 3.75
    assert metrics.frechet_distance(a, b) == pytest.approx(3.75, rel=0.05)


def test_frechet_distance_of_a_set_with_itself_is_zero_and_uses_n_minus_1(rng):
    features = rng.normal(size=(50, 4))
    assert metrics.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-9)
    _, sigma = metrics.feature_statistics(np.array([[0.0], [2.0]]))
    assert sigma[0, 0] == pytest.approx(2.0)  # n - 1 = 1; the population variance would be 1.0


def test_frechet_distance_falls_back_to_eps_when_sqrtm_fails(monkeypatch):
    calls = []
    real_sqrtm = scipy.linalg.sqrtm

    def failing_once(matrix):
        calls.append(matrix.copy())
        return np.full_like(matrix, np.nan) if len(calls) == 1 else real_sqrtm(matrix)

    monkeypatch.setattr(scipy.linalg, "sqrtm", failing_once)
    distance = metrics.gaussian_frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2), eps=1e-3)
    assert len(calls) == 2
    np.testing.assert_allclose(calls[1], np.eye(2) * (1 + 1e-3) ** 2)
    assert distance == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_rejects_mismatched_or_too_few_features():
    with pytest.raises(ValueError, match="differ in width: 3 vs 2"):
        metrics.frechet_distance(np.zeros((5, 3)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="at least 2 feature vectors"):
        metrics.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="not positive semi-definite"):
        metrics.gaussian_frechet_distance(np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2))


def test_critic_au_report_scores_the_head_on_real_faces_and_on_the_generated_ones_in_the_given_unit():
    from ccyclegan.metrics import critic_au_report

    real, generated = np.zeros((2, 1)), np.ones((2, 1))  # "faces" the fake head reads as 0.2 and 0.6 per AU
    read = lambda faces: np.full((len(faces), 17), 0.2 if faces[0, 0] == 0 else 0.6)  # noqa: E731
    labels, targets = np.full((2, 17), 0.3), np.full((2, 17), 1.0)
    report = critic_au_report(read, real, labels, generated, targets, unit=0.5)
    assert report == pytest.approx({"real_mae": 0.05, "generated_mae": 0.2})

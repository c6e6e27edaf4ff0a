import numpy as np
import pytest
from scipy.stats import pearsonr

from emibench.emotions import EMOTIONS
from emibench.evaluate.metrics import mean_pearson, pearson, pearson_per_emotion


def test_pearson_matches_scipy():
    rng = np.random.default_rng(1)
    y = rng.random(50)
    p = y + rng.normal(scale=0.3, size=50)
    assert pearson(y, p) == pytest.approx(pearsonr(y, p).statistic, abs=1e-12)


def test_constant_prediction_scores_zero():
    assert pearson(np.array([0.1, 0.5, 0.9]), np.full(3, 0.3)) == 0.0


def test_mean_over_six_emotions():
    rng = np.random.default_rng(2)
    y = rng.random((40, len(EMOTIONS)))
    p = y.copy()
    p[:, 0] = rng.random(40)
    per = pearson_per_emotion(y, p)
    assert list(per) == list(EMOTIONS)
    assert per["Amusement"] == pytest.approx(1.0)
    assert mean_pearson(y, p) == pytest.approx(np.mean(list(per.values())))


def test_shape_errors_are_explicit():
    with pytest.raises(ValueError, match="expected two"):
        pearson_per_emotion(np.zeros((3, 5)), np.zeros((3, 5)))


def test_non_finite_predictions_fail_instead_of_scoring():
    y = np.linspace(0, 1, 5)
    with pytest.raises(ValueError, match="non-finite predictions"):
        pearson(y, np.array([0.1, np.nan, 0.3, 0.4, 0.5]))
    with pytest.raises(ValueError, match="non-finite"):
        mean_pearson(np.tile(y[:, None], 6), np.full((5, 6), np.inf))

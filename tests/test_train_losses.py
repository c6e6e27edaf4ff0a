"""The training losses against hand computations in numpy, and their config keys."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from emibench.settings import ConfigError, settings_from
from emibench.train.losses import LOSSES, make_loss
from emibench.train.trainer import TrainConfig

RNG = np.random.default_rng(0)
PRED = RNG.uniform(0, 1, size=(9, 6))
TARGET = RNG.uniform(0, 1, size=(9, 6))


def _pearson(p: np.ndarray, t: np.ndarray) -> float:
    dp, dt = p - p.mean(), t - t.mean()
    return float((dp * dt).sum() / np.sqrt((dp**2).sum() * (dt**2).sum()))


def _ccc(p: np.ndarray, t: np.ndarray) -> float:
    cov = ((p - p.mean()) * (t - t.mean())).mean()
    return float(2 * cov / (p.var() + t.var() + (p.mean() - t.mean()) ** 2))


HAND = {
    "mse": lambda p, t, w: float(((p - t) ** 2).mean()),
    "pearson": lambda p, t, w: 1 - np.mean([_pearson(p[:, e], t[:, e]) for e in range(6)]),
    "ccc": lambda p, t, w: 1 - np.mean([_ccc(p[:, e], t[:, e]) for e in range(6)]),
    "mse+pearson": lambda p, t, w: HAND["mse"](p, t, w) + w * HAND["pearson"](p, t, w),
}


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("weight", [1.0, 0.3])
def test_loss_matches_hand_computation(name, weight):
    loss = make_loss(name, weight)(torch.tensor(PRED), torch.tensor(TARGET))
    assert loss.item() == pytest.approx(HAND[name](PRED, TARGET, weight), rel=1e-5, abs=1e-7)


def test_correlation_losses_at_their_extremes():
    t = torch.tensor(TARGET)
    assert make_loss("pearson")(2 * t + 1, t).item() == pytest.approx(0.0, abs=1e-6)
    assert make_loss("pearson")(-t, t).item() == pytest.approx(2.0, abs=1e-6)
    assert make_loss("ccc")(t.clone(), t).item() == pytest.approx(0.0, abs=1e-6)
    assert make_loss("ccc")(2 * t + 1, t).item() > 0.5  # correlated but not concordant


def test_constant_column_and_single_clip_stay_finite():
    pred = torch.tensor(PRED, requires_grad=True)
    target = torch.tensor(TARGET)
    target[:, 2] = 0.0  # e.g. no clip of the batch shows Empathic Pain
    for name in LOSSES:
        loss = make_loss(name)(pred, target)
        loss.backward()
        assert torch.isfinite(loss) and torch.isfinite(pred.grad).all(), name
        pred.grad = None
    one = make_loss("ccc")(pred[:1], target[:1])
    assert torch.isfinite(one)


def test_wrong_prediction_shape_names_the_contract():
    with pytest.raises(ValueError, match=r"\{'pred': \(B, 6\)\}"):
        make_loss("mse")(torch.zeros(4, 1), torch.zeros(4, 6))


def test_train_settings_keys():
    assert TrainConfig().loss == "mse"
    cfg = settings_from(TrainConfig, {"loss": "mse+pearson", "loss_weight": 0.5}, "train")
    assert (cfg.loss, cfg.loss_weight) == ("mse+pearson", 0.5)
    with pytest.raises(ConfigError, match="loss 'mae'"):
        settings_from(TrainConfig, {"loss": "mae"}, "train")
    with pytest.raises(ConfigError, match="loss_weight"):
        settings_from(TrainConfig, {"loss_weight": -1}, "train")

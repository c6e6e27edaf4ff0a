"""EMA of parameters (eq. 10) against a hand computation."""

from __future__ import annotations

import pytest
import torch

from emibench.train.ema import EMA


def _scalar_model(value: float) -> torch.nn.Module:
    model = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        model.weight.fill_(value)
    return model


def test_update_arithmetic_without_warmup():
    model = _scalar_model(1.0)
    ema = EMA(model, decay=0.9, warmup=False)
    expected = 1.0
    for value in (2.0, 4.0, -1.0):
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model)
        expected = 0.9 * expected + 0.1 * value
        assert ema.module.weight.item() == pytest.approx(expected, abs=1e-6)
    # 1 -> 1.1 -> 1.39 -> 1.151
    assert ema.module.weight.item() == pytest.approx(1.151, abs=1e-6)


def test_warmup_decay_schedule():
    model = _scalar_model(0.0)
    ema = EMA(model, decay=0.999, warmup=True)
    with torch.no_grad():
        model.weight.fill_(10.0)
    # update 1: gamma = min(0.999, 1/10) = 0.1 -> 0.1 * 0 + 0.9 * 10 = 9
    ema.update(model)
    assert ema.module.weight.item() == pytest.approx(9.0)
    # update 2: gamma = 2/11 -> 2/11 * 9 + 9/11 * 10
    ema.update(model)
    assert ema.module.weight.item() == pytest.approx(2 / 11 * 9 + 9 / 11 * 10)
    ema.updates = 100_000
    assert ema.current_decay() == 0.999


def test_average_is_frozen_and_separate():
    model = _scalar_model(3.0)
    ema = EMA(model, decay=0.5, warmup=False)
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert not ema.module.training
    with torch.no_grad():
        model.weight.fill_(5.0)
    assert ema.module.weight.item() == 3.0
    with pytest.raises(ValueError):
        EMA(model, decay=1.0)


def test_update_of_every_tensor_equals_one_at_a_time():
    """The batched update gives bit for bit what updating tensor by tensor gives."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 2)
    )
    ema = EMA(model, decay=0.9, warmup=True)
    expected = [p.detach().clone() for p in model.parameters()]
    for _ in range(3):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(torch.randn_like(p))
        gamma = ema.current_decay()
        expected = [
            e.mul(gamma).add_(p.detach(), alpha=1.0 - gamma)
            for e, p in zip(expected, model.parameters(), strict=True)
        ]
        ema.update(model)
    for avg, e in zip(ema.module.parameters(), expected, strict=True):
        assert torch.equal(avg, e)

"""The TCN (eq. 2) is causal, and sees exactly its computed receptive field."""

from __future__ import annotations

import pytest
import torch

from emibench.models.tcn import TCN


def _influence(tcn: TCN, length: int, t: int) -> torch.Tensor:
    """(length,) bool: which input steps the output at step t depends on (by its gradient)."""
    x = torch.randn(1, length, 5, requires_grad=True)
    tcn(x)[0, t].sum().backward()
    return x.grad[0].abs().sum(-1) > 0


@pytest.mark.parametrize("layers,kernel", [(1, 3), (3, 2), (4, 3)])
def test_receptive_field_and_causality(layers, kernel):
    torch.manual_seed(0)
    tcn = TCN(5, channels=6, n_layers=layers, kernel_size=kernel, dropout=0.0).eval()
    field = tcn.receptive_field
    assert field == 1 + 2 * (kernel - 1) * (2**layers - 1)
    length = field + 20
    t = field + 5
    seen = _influence(tcn, length, t)
    assert not seen[t + 1 :].any(), "output depends on future inputs"
    assert seen[t - field + 1 : t + 1].all(), "output misses inputs inside its receptive field"
    assert not seen[: t - field + 1].any(), "output depends on inputs beyond its receptive field"


def test_future_inputs_do_not_change_past_outputs():
    torch.manual_seed(0)
    tcn = TCN(4, channels=8, n_layers=3, kernel_size=3, dropout=0.0).eval()
    x = torch.randn(2, 30, 4)
    changed = x.clone()
    changed[:, 17:] = torch.randn(2, 13, 4)
    with torch.no_grad():
        torch.testing.assert_close(tcn(x)[:, :17], tcn(changed)[:, :17])
        assert not torch.allclose(tcn(x)[:, 17:], tcn(changed)[:, 17:])


def test_mask_zeroes_padded_inputs():
    torch.manual_seed(0)
    tcn = TCN(4, channels=8, n_layers=2).eval()
    x = torch.randn(1, 10, 4)
    mask = torch.arange(10)[None] < 6
    noisy = x.clone()
    noisy[:, 6:] = 100.0
    with torch.no_grad():
        torch.testing.assert_close(tcn(x, mask), tcn(noisy, mask))

"""Gated attention (eq. 6), segment pooling (eq. 5) and quality-aware fusion (eqs. 7-8)."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from emibench.models.gated_bilstm import GatedBiLSTM
from emibench.models.inputs import random_batch
from emibench.models.pooling import (
    masked_mean,
    resample_weights,
    segment_means,
    segment_pool,
    segment_weights,
)
from emibench.models.quality_fusion import QualityFusion
from emibench.models.registry import build_model


def test_gate_values_in_open_unit_interval_and_applied():
    torch.manual_seed(0)
    branch = GatedBiLSTM(6, hidden=5).eval()
    x = torch.randn(3, 8, 6) * 4
    mask = torch.arange(8)[None] < torch.tensor([[8], [5], [1]])
    with torch.no_grad():
        out = branch(x, mask)
        h = branch.lstm(x[:1])[0]  # the full-length clip, unpacked
        g = branch.gate_values(h)
    assert ((g > 0) & (g < 1)).all()
    torch.testing.assert_close(out[:1], h * g, atol=1e-6, rtol=1e-5)
    delta = h - torch.cat([h[:, :1], h[:, :-1]], 1)
    torch.testing.assert_close(g, torch.sigmoid(branch.gate(torch.cat([h, delta], -1))))
    assert (out[1, 5:] == 0).all() and (out[2, 1:] == 0).all()


def test_no_gate_ablation_returns_lstm_states():
    torch.manual_seed(0)
    branch = GatedBiLSTM(6, hidden=5, gate=False).eval()
    x = torch.randn(1, 7, 6)
    with torch.no_grad():
        torch.testing.assert_close(branch(x, torch.ones(1, 7, dtype=torch.bool)), branch.lstm(x)[0])


@pytest.mark.parametrize("layers", [1, 2])
def test_each_clip_as_if_alone_and_as_packed(layers):
    """Padding changes nothing: every clip's states and the gradients equal those of the packed
    BiLSTM (the backward direction starts at the clip's own last real step)."""
    torch.manual_seed(0)
    branch = GatedBiLSTM(6, hidden=5, n_layers=layers, gate=False)
    x = torch.randn(4, 9, 6, requires_grad=True)
    lengths = torch.tensor([9, 5, 1, 0])
    mask = torch.arange(9)[None] < lengths[:, None]
    out = branch(x, mask)
    packed = pack_padded_sequence(x, lengths.clamp_min(1), batch_first=True, enforce_sorted=False)
    ref, _ = pad_packed_sequence(branch.lstm(packed)[0], batch_first=True, total_length=9)
    ref = ref * mask.unsqueeze(-1)
    torch.testing.assert_close(out, ref, atol=1e-6, rtol=1e-5)
    cuda_path = branch._packed(x, lengths.clamp_min(1)) * mask.unsqueeze(-1)
    torch.testing.assert_close(cuda_path, ref)
    for k in range(3):
        alone = branch.lstm(x[k : k + 1, : lengths[k]])[0]
        torch.testing.assert_close(out[k : k + 1, : lengths[k]], alone, atol=1e-6, rtol=1e-5)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), [x, *branch.lstm.parameters()])
    ref_grads = torch.autograd.grad((ref * weights).sum(), [x, *branch.lstm.parameters()])
    for g, r in zip(grads, ref_grads, strict=True):
        torch.testing.assert_close(g, r, atol=1e-6, rtol=1e-5)


def test_dropout_between_layers_only_and_only_in_training():
    torch.manual_seed(0)
    branch = GatedBiLSTM(6, hidden=5, n_layers=2, dropout=0.5, gate=False)
    x = torch.randn(3, 9, 6)
    lengths = torch.tensor([9, 5, 1])
    mask = torch.arange(9)[None] < lengths[:, None]
    branch.eval()
    with torch.no_grad():
        evaluated = branch(x, mask)
        real = mask.unsqueeze(-1)
        torch.testing.assert_close(
            branch._unpacked(x, lengths) * real, branch._packed(x, lengths) * real
        )
    branch.train()
    with torch.no_grad():
        trained = branch(x, mask)
    assert (trained[mask] != 0).all()  # none after the last layer
    assert not torch.allclose(trained, evaluated)


def test_segment_means_of_one_clip():
    x = torch.arange(10, dtype=torch.float32).unsqueeze(1)
    assert segment_means(x, 4).squeeze(1).tolist() == [0.5, 3.0, 5.5, 8.0]
    assert segment_means(x[:2], 4).squeeze(1).tolist() == [0.0, 0.0, 1.0, 1.0]
    with pytest.raises(ValueError, match="at least one step"):
        segment_means(x[:0], 4)


def test_segment_pool_matches_hand_means():
    x = torch.arange(7.0).view(1, 7, 1)
    mask = torch.ones(1, 7, dtype=torch.bool)
    # L = 7, M = 3: segments [0, 2), [2, 4), [4, 7)
    torch.testing.assert_close(segment_pool(x, mask, 3)[0, :, 0], torch.tensor([0.5, 2.5, 5.0]))
    # L = 2 < M = 4: each segment takes one step; padding beyond L is ignored
    short = torch.tensor([[[1.0], [3.0], [99.0]]])
    smask = torch.tensor([[True, True, False]])
    torch.testing.assert_close(
        segment_pool(short, smask, 4)[0, :, 0], torch.tensor([1.0, 1.0, 3.0, 3.0])
    )
    w = segment_weights(torch.tensor([5, 0]), 2, 6)
    torch.testing.assert_close(w[0].sum(-1), torch.ones(2))
    assert (w[1] == 0).all()


def test_resample_and_masked_mean():
    r = resample_weights(torch.tensor([4]), torch.tensor([8]), 4, 8)
    assert r[0].argmax(-1).tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    torch.testing.assert_close(
        masked_mean(x, torch.tensor([[True, True, False]])), torch.tensor([[2.0]])
    )


def test_fusion_weights_sum_to_one_over_present_modalities():
    torch.manual_seed(0)
    fusion = QualityFusion(("V", "A", "T"), d_model=8, d_hidden=8)
    feats = {m: torch.randn(4, 5, 8) for m in "VAT"}
    present = torch.tensor([[1, 1, 1], [1, 0, 1], [0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    fused, beta = fusion(feats, present)
    assert beta.shape == (4, 5, 3)
    torch.testing.assert_close(beta[:3].sum(-1), torch.ones(3, 5))
    assert (beta[~present.unsqueeze(1).expand(-1, 5, -1)] == 0).all()
    assert (beta[3] == 0).all() and (fused[3] == 0).all()
    torch.testing.assert_close(fused[2], feats["T"][2])
    assert ((beta[0] > 0) & (beta[0] < 1)).all()
    # weights vary over time: quality is scored per step
    assert not torch.allclose(beta[0, 0], beta[0, 1])


def test_mean_fusion_ablation_is_uniform():
    fusion = QualityFusion(("V", "A"), d_model=4, d_hidden=4, mode="mean")
    feats = {m: torch.randn(2, 3, 4) for m in "VA"}
    fused, beta = fusion(feats, torch.tensor([[True, True], [False, True]]))
    torch.testing.assert_close(beta[0], torch.full((3, 2), 0.5))
    torch.testing.assert_close(fused[1], feats["A"][1])


def test_dscmn_exposes_fusion_weights_per_clip():
    torch.manual_seed(0)
    cfg = {
        "name": "dscmn",
        "d_model": 16,
        "mlp_hidden": 16,
        "tcn_channels": 8,
        "lstm_hidden": 8,
        "segments": 3,
        "transformer_layers": 1,
        "heads": 2,
        "ff_dim": 32,
    }
    model = build_model(cfg, {"V": 12, "A": 10, "T": 8}, "VAT").eval()
    batch = random_batch({"V": [6, 6, 0], "A": [6, 0, 0], "T": [3, 3, 0]})
    with torch.no_grad():
        w = model(batch)["fusion_weights"]
    torch.testing.assert_close(w[:2].sum(-1), torch.ones(2))
    assert w[1, 1] == 0 and (w[2] == 0).all()

"""The synthetic oracle under a condition: the clean latents while any channel keeps them, less
where a condition removes information, undefined where it only degrades it."""

import numpy as np
import pandas as pd
import pytest

from emibench.data.synthetic.face import EXPRESSION_MIX
from emibench.data.synthetic.labels import sample_latents
from emibench.emotions import EMOTIONS
from emibench.evaluate.metrics import pearson_per_emotion
from emibench.robustness.oracle import HIDDEN_BY_REGION, condition_oracle
from emibench.robustness.spec import parse_condition

SHARE = np.array([0.45, 0.36, 0.33, 0.10, 0.38, 0.33])


@pytest.fixture()
def latents():
    """300 train and 200 valid clips; the last 20 valid ones silent, without words, a hand over
    the mouth."""
    rng = np.random.default_rng(0)
    z = sample_latents(rng, 500, SHARE, 0.3)
    table = pd.DataFrame(z, columns=[f"latent_{e}" for e in EMOTIONS])
    table.insert(0, "id", [f"{i:05d}" for i in range(500)])
    table.insert(1, "split", ["train"] * 300 + ["valid"] * 200)
    table["occluder"] = ""
    table["silent"] = False
    table["has_audio_track"] = True
    table["transcript"] = "that is really funny"
    last = table.index[-20:]
    table.loc[last, ["occluder", "silent", "transcript"]] = ["hand", True, ""]
    return table


def mean_r(latents, result, intact=True):
    """Mean Pearson over the valid clips (only those with every channel when ``intact``)."""
    rows = latents[latents["split"] == "valid"]
    if intact:
        rows = rows.iloc[:-20]
    p = result.predictions.loc[rows["id"]].to_numpy()
    y = rows[[f"latent_{e}" for e in EMOTIONS]].to_numpy()
    r = pearson_per_emotion(y, p)
    return float(np.mean(list(r.values())))


def condition(*ops):
    return parse_condition("c", list(ops))


def test_clean_oracle_is_the_latents(latents):
    result = condition_oracle(latents, None)
    z = latents[[f"latent_{e}" for e in EMOTIONS]].to_numpy()
    assert np.allclose(result.predictions.to_numpy()[:-20], z[:-20], atol=1e-9)
    assert not np.allclose(result.predictions.to_numpy()[-20:], z[-20:], atol=1e-6)
    assert result.exact and result.channels.iloc[0] == "V6 A7 T6"
    assert result.channels.iloc[-1] == "V5 A0 T0"  # the hand hides the mouth opening


def test_removing_one_modality_keeps_the_oracle(latents):
    for op in ({"op": "remove_audio"}, {"op": "remove_text"}, {"op": "occlude", "share": 0.5}):
        result = condition_oracle(latents, condition(op))
        assert mean_r(latents, result) == pytest.approx(1.0, abs=1e-9)


def test_full_occlusion_of_a_visual_only_system_is_the_projection(latents):
    result = condition_oracle(latents, condition({"op": "occlude", "share": 1.0}), modalities="V")
    visible = [i for i in range(6) if i not in HIDDEN_BY_REGION["lower"]]
    h = EXPRESSION_MIX[visible]
    train = latents[latents["split"] == "train"][[f"latent_{e}" for e in EMOTIONS]].to_numpy()
    mu, cov = train.mean(axis=0), np.cov(train, rowvar=False)
    clip = latents.iloc[0][[f"latent_{e}" for e in EMOTIONS]].to_numpy(float)
    expected = mu + cov @ h.T @ np.linalg.solve(h @ cov @ h.T, h @ (clip - mu))
    assert np.allclose(result.predictions.iloc[0], expected)
    assert 0.3 < mean_r(latents, result) < 0.99
    upper = condition_oracle(
        latents, condition({"op": "occlude", "share": 1.0, "region": "upper"}), modalities="V"
    )
    full = condition_oracle(
        latents, condition({"op": "occlude", "share": 1.0, "region": "full"}), modalities="V"
    )
    assert mean_r(latents, full) < mean_r(latents, upper) < mean_r(latents, result)


def test_nothing_left_predicts_the_train_mean(latents):
    gone = condition(
        {"op": "drop_frames", "share": 1.0}, {"op": "remove_audio"}, {"op": "remove_text"}
    )
    result = condition_oracle(latents, gone)
    train = latents[latents["split"] == "train"][[f"latent_{e}" for e in EMOTIONS]]
    assert np.allclose(result.predictions.to_numpy(), train.mean().to_numpy())
    assert set(result.channels) == {"V0 A0 T0"}


def test_clip_nuisances_count_with_the_condition(latents):
    result = condition_oracle(latents, condition({"op": "remove_audio"}, {"op": "remove_text"}))
    z = latents[[f"latent_{e}" for e in EMOTIONS]].to_numpy()
    err = np.abs(result.predictions.to_numpy() - z).max(axis=1)
    assert err[:-20].max() < 1e-9  # the full face keeps everything
    assert err[-20:].min() > 1e-6  # a hand over the mouth on every frame does not


def test_degrading_conditions_are_undefined_or_an_upper_bound(latents):
    noisy = condition({"op": "noise", "snr_db": 0}, {"op": "remove_text"})
    assert condition_oracle(latents, noisy) is None
    bound = condition_oracle(latents, noisy, degrading="upper_bound")
    assert not bound.exact and mean_r(latents, bound) == pytest.approx(1.0)
    assert condition_oracle(latents, condition({"op": "blur"})) is None

"""Latent emotion intensities and the annotator labels measured from them.

Generative model (per clip, six emotions ``e``):

* ``u ~ N(0, C)``, ``C`` the identity except ``C[Excitement, Joy] = rho``;
* the emotion is present when ``u_e`` lies in the upper ``p_e`` tail (``p_e`` the configured
  non-zero share), and its clean latent intensity is the position inside that tail, mapped to
  ``[0.1, 1]`` (0 when absent);
* ``N`` annotators: ``k_e = 1 + Binomial(N - 1, z_e)`` of them mark a present emotion and none an
  absent one, so the label ``k_e / N`` is non-zero exactly for present emotions.

``rho`` is calibrated (Monte Carlo with a fixed seed, bisection) so that the *labels* reach the
configured Excitement-Joy Pearson correlation. The latents drive face, voice and words; the labels
are a noisy measurement of them, like the real crowd-sourced ones.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.stats import norm

from emibench.emotions import EMOTIONS

EXCITEMENT, JOY = EMOTIONS.index("Excitement"), EMOTIONS.index("Joy")
MIN_INTENSITY = 0.1


def sample_latents(
    rng: np.random.Generator, n: int, nonzero_share: np.ndarray, rho: float
) -> np.ndarray:
    """Clean latent intensities, (n, 6) float in [0, 1]; 0 where the emotion is absent."""
    p = np.clip(np.asarray(nonzero_share, dtype=float), 1e-6, 1 - 1e-6)
    u = rng.standard_normal((n, len(EMOTIONS)))
    # correlate Joy with Excitement: u_joy = rho u_exc + sqrt(1 - rho^2) e
    u[:, JOY] = rho * u[:, EXCITEMENT] + np.sqrt(1 - rho**2) * u[:, JOY]
    tail = (norm.cdf(u) - (1 - p)) / p  # in (0, 1] inside the tail, negative outside
    return np.where(tail > 0, MIN_INTENSITY + (1 - MIN_INTENSITY) * tail, 0.0)


def annotate(rng: np.random.Generator, latents: np.ndarray, annotators: int) -> np.ndarray:
    """Labels ``k / N`` from latents (n, 6): float (n, 6) in {0, 1/N, ..., 1}."""
    present = latents > 0
    extra = rng.binomial(annotators - 1, np.clip(latents, 0, 1)) if annotators > 1 else 0
    k = np.where(present, 1 + extra, 0)
    return k / annotators


def _label_corr(rho: float, nonzero_share: tuple[float, ...], annotators: int, n: int) -> float:
    rng = np.random.default_rng(12345)
    labels = annotate(rng, sample_latents(rng, n, np.array(nonzero_share), rho), annotators)
    return float(np.corrcoef(labels[:, EXCITEMENT], labels[:, JOY])[0, 1])


@lru_cache(maxsize=32)
def calibrate_rho(
    target: float, nonzero_share: tuple[float, ...], annotators: int, n: int = 20000
) -> float:
    """The latent correlation ``rho`` whose labels have Excitement-Joy Pearson ``target``."""
    lo, hi = -0.999, 0.999
    for _ in range(30):
        mid = (lo + hi) / 2
        if _label_corr(mid, nonzero_share, annotators, n) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def synth_labels(
    rng: np.random.Generator,
    n: int,
    nonzero_share: dict[str, float],
    excitement_joy_corr: float,
    annotators: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(latents, labels)``, both (n, 6) in EMOTIONS order."""
    share = tuple(float(nonzero_share[e]) for e in EMOTIONS)
    rho = calibrate_rho(float(excitement_joy_corr), share, int(annotators))
    latents = sample_latents(rng, n, np.array(share), rho)
    return latents, annotate(rng, latents, annotators)

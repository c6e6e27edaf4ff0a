"""emibench: a reproducible benchmark for Emotional Mimicry Intensity estimation."""

__version__ = "0.1.0"

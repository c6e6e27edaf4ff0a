"""The plan layer: from the validated config to typed job specs (docs/architecture.md)."""

from emibench.plan.build import Plan

__all__ = ["Plan"]

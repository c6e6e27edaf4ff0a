"""Metrics and evaluation of predictions against labels."""

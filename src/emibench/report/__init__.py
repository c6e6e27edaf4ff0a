"""Collect runs, tables, figures and the papermill report."""

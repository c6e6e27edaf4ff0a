"""Benchmarks that print speed figures (`emibench bench ...`)."""

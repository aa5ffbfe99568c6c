"""Benchmarks of fit and predict for the three APIs (see benchmarks/workloads.py).

Workloads are StackSpecs built by equivalence.builders, so a model is described and built
in exactly one way for equivalence checks and for benchmarks.
"""

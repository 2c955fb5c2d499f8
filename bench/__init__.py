"""Benchmarks: each prints figures against a floor measured in the same run."""

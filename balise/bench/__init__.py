"""Benchmarks: what the collector's parts cost at fleet scale."""

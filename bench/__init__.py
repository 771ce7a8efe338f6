"""Benchmarks of the collection and its local cluster (`make bench`)."""

"""Benchmarks: real Stockroom servers driven over HTTP (`make bench`)."""

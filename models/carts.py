"""Carts tables."""

"""Shipping tables."""

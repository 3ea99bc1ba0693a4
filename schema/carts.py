"""Carts: types, queries and mutations."""

QUERIES: tuple[type, ...] = ()
MUTATIONS: tuple[type, ...] = ()

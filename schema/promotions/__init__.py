"""Promotions and discount codes (API.md section 10): types, inputs, queries and mutations;
`schema.promotions.area` holds the root fields (kept out of this module: orders and carts
import the types, and the mutations import the cart types)."""

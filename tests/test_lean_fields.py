"""Lean fields (schema/base.py): graphql-core calls their methods directly."""

import pytest
import strawberry

from models.settings import Settings
from schema import build_schema
from schema.base import install_lean_resolvers, lean_field


def test_a_listings_per_product_fields_skip_strawberrys_wrapper() -> None:
    fields = build_schema(Settings())._schema.type_map["Product"].fields
    for name, method in (("price", "price"), ("stockStatus", "stock_status")):
        assert fields[name].resolve.__qualname__ == f"Product.{method}"
    assert fields["categories"].resolve.__qualname__ == "Product.categories"
    assert fields["brand"].resolve.__qualname__ != "Product.brand"  # not lean: async, loaded
    assert fields["sku"].resolve(type("Row", (), {"sku": "A-1"})(), None) == "A-1"  # one call


def test_a_lean_field_with_arguments_is_refused_when_the_schema_is_built() -> None:
    @strawberry.type
    class Thing:
        @lean_field("Takes an argument, which a lean field cannot.")
        def size(self, info: strawberry.Info, unit: str) -> int:
            return 1

    @strawberry.type
    class Query:
        thing: Thing

    with pytest.raises(TypeError, match=r"Thing\.size"):
        install_lean_resolvers(strawberry.Schema(query=Query)._schema)

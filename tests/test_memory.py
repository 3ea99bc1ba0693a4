"""What a request leaves behind for Python's cycle collector (its cost grows with it)."""

import gc
from collections.abc import Iterator

import pytest
from strawberry.dataloader import DataLoader

from tests.catalog_helpers import create_category, create_product
from tests.conftest import Api

LISTING = """{ products(first: 10) { edges { node { sku categories { name } } } } }"""


@pytest.fixture
def cycle_garbage() -> Iterator[list[object]]:
    """gc.garbage after the test body's requests: every object only the cycle collector
    would have freed (DEBUG_SAVEALL keeps them there instead)."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        yield gc.garbage
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_a_request_leaves_no_dataloader_to_the_cycle_collector(
    api: Api, cycle_garbage: list[object]
) -> None:
    """A request's DataLoaders refer back to its context; they are dropped when it is
    answered, so the rows they loaded are freed at once, not at the next collection."""
    shirts = await create_category(api, "Shirts")
    for sku in ("A", "B", "C"):
        await create_product(api, sku, categoryIds=[shirts["id"]])
    await api.storefront(LISTING)
    gc.collect()
    cycle_garbage.clear()
    data = await api.storefront(LISTING)
    assert [e["node"]["categories"] for e in data["products"]["edges"]] == [
        [{"name": "Shirts"}]
    ] * 3
    gc.collect()
    left = [type(o).__name__ for o in cycle_garbage if isinstance(o, DataLoader)]
    assert left == []

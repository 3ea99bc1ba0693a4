"""Service tier: the catalogue's validation combinations, called on the domain directly
(real databases, no GraphQL). The GraphQL tests keep the contract: that these errors come
back as the payload's `errors` with their field paths, and that nothing changed."""

import uuid
from typing import Any

from sqlalchemy import event

from domain import catalog
from domain.catalog import SLUG_NUMBERS_CHECKED, CategoryMove, Status
from models.catalog import Category, Product, Variation, VariationOption
from models.engine import Database
from tests.service_helpers import count, done, refused

NO_ROW = uuid.UUID(int=0)


def product(sku: str, **fields: object) -> dict[str, object]:
    return {"sku": sku, "name": f"Product {sku}", "price": 1000, "status": Status.LIVE, **fields}


def stay(pk: uuid.UUID, position: int | None = None) -> CategoryMove:
    """A move that keeps the category's parent (no parentId given)."""
    return CategoryMove(pk, parent_id=None, position=position, keep_parent=True)


async def test_a_product_needs_sku_name_price_and_a_slug(db: Database) -> None:
    assert await refused(db, lambda s: catalog.create_product(s, {"description": "only"})) == {
        ("REQUIRED", ("input", "sku")),
        ("REQUIRED", ("input", "name")),
        ("REQUIRED", ("input", "price")),
    }
    unsluggable = {"sku": "X", "name": "!!!", "price": 1}
    assert await refused(db, lambda s: catalog.create_product(s, unsluggable)) == {
        ("REQUIRED", ("input", "slug"))
    }
    assert await count(db, Product) == 0


async def test_too_long_and_null_values_are_invalid(db: Database) -> None:
    data = product(
        "X" * 121,
        name="n" * 301,
        requires_shipping=None,
        manage_stock=None,
        status=None,
        images=[{"url": "https://a.test/x", "alt": "a" * 501}],
        description="d" * 100_001,
    )
    assert await refused(db, lambda s: catalog.create_product(s, data)) == {
        ("INVALID", ("input", "description")),
        ("INVALID", ("input", "sku")),
        ("INVALID", ("input", "name")),
        ("INVALID", ("input", "requiresShipping")),
        ("INVALID", ("input", "manageStock")),
        ("INVALID", ("input", "status")),
        ("INVALID", ("input", "images", "0", "alt")),
    }
    assert await count(db, Product) == 0


async def test_at_most_twenty_images(db: Database) -> None:
    images = [{"url": f"https://cdn.test/{i}.png"} for i in range(21)]
    too_many = product("X", images=images)
    assert await refused(db, lambda s: catalog.create_product(s, too_many)) == {
        ("INVALID", ("input", "images"))
    }
    kept = await done(db, lambda s: catalog.create_product(s, product("Y", images=images[:20])))
    assert [i["url"] for i in kept.images] == [i["url"] for i in images[:20]]
    assert kept.images[0]["alt"] == ""


async def test_category_validation_and_unique_slugs(db: Database) -> None:
    await done(db, lambda s: catalog.create_category(s, {"name": "Shoes"}))
    bad = {"name": "", "slug": "Bad Slug", "position": -1, "parent_id": NO_ROW}
    assert await refused(db, lambda s: catalog.create_category(s, bad)) == {
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "slug")),
        ("INVALID", ("input", "position")),
        ("NOT_FOUND", ("input", "parentId")),
    }
    taken = {"name": "Other", "slug": "shoes"}
    assert await refused(db, lambda s: catalog.create_category(s, taken)) == {
        ("DUPLICATE", ("input", "slug"))
    }
    again = await done(db, lambda s: catalog.create_category(s, {"name": "Shoes"}))
    assert again.slug == "shoes-2"  # a slug made from the name is made unique
    assert await count(db, Category) == 2


async def test_reorder_validation_names_each_move(db: Database) -> None:
    a = await done(db, lambda s: catalog.create_category(s, {"name": "A"}))
    unknown = [stay(NO_ROW), CategoryMove(a.id, parent_id=NO_ROW, position=None)]
    assert await refused(db, lambda s: catalog.reorder_categories(s, unknown)) == {
        ("NOT_FOUND", ("input", "0", "id")),
        ("NOT_FOUND", ("input", "1", "parentId")),
    }
    bad = [stay(a.id, position=-2), stay(a.id)]
    assert await refused(db, lambda s: catalog.reorder_categories(s, bad)) == {
        ("INVALID", ("input", "0", "position")),
        ("INVALID", ("input", "1", "id")),
    }


async def test_variation_and_option_validation(db: Database) -> None:
    p = await done(db, lambda s: catalog.create_product(s, product("P")))
    await done(db, lambda s: catalog.create_variation(s, p.id, {"name": "Size"}))
    for data, expected in (
        ({"name": "Size"}, ("DUPLICATE", ("input", "name"))),
        ({"name": ""}, ("REQUIRED", ("input", "name"))),
    ):
        assert await refused(db, lambda s, d=data: catalog.create_variation(s, p.id, d)) == {
            expected
        }
    nowhere = await refused(db, lambda s: catalog.create_variation(s, NO_ROW, {"name": "X"}))
    assert nowhere == {("NOT_FOUND", ("productId",))}

    colour = await done(db, lambda s: catalog.create_variation(s, p.id, {"name": "Colour"}))
    light = {"name": "Light Blue", "description": "pale"}
    made = await done(db, lambda s: catalog.create_option(s, colour.id, light))
    assert (made.sku_suffix, made.slug_suffix) == ("-LIGHT-BLUE", "-light-blue")
    bad = {"name": "", "sku_suffix": "has space", "slug_suffix": "Not-A-Slug"}
    assert await refused(db, lambda s: catalog.create_option(s, colour.id, bad)) == {
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "skuSuffix")),
        ("INVALID", ("input", "slugSuffix")),
    }
    same = {"name": "Light Blue"}
    assert await refused(db, lambda s: catalog.create_option(s, colour.id, same)) == {
        ("DUPLICATE", ("input", "name"))
    }
    orphan = await refused(db, lambda s: catalog.create_option(s, NO_ROW, {"name": "X"}))
    assert orphan == {("NOT_FOUND", ("variationId",))}
    assert (await count(db, Variation), await count(db, VariationOption)) == (2, 1)


async def test_a_slug_from_a_name_is_found_by_index_until_its_numbers_run_out(
    db: Database,
) -> None:
    """A product's slug made from its name is the first free of `lamp`, `lamp-2`, ...: those
    up to SLUG_NUMBERS_CHECKED past the first are looked up by the slug index; only when all
    are taken are all numbered slugs read (a LIKE, which no index serves under a non-C
    collation: it read every product, 61 ms a productCreate at 1M products)."""
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    async def made() -> tuple[str, bool]:
        statements.clear()
        made = await done(
            db,
            lambda s: catalog.create_product(s, product(f"L{uuid.uuid4().hex[:8]}", name="Lamp")),
        )
        return made.slug, any(" LIKE " in s for s in statements)

    for slug in ("lamp", "lamp-2", "lamp-4"):
        await done(
            db, lambda s, slug=slug: catalog.create_product(s, product(slug.upper(), slug=slug))
        )
    event.listen(db.write_engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await made() == ("lamp-3", False)
        last = SLUG_NUMBERS_CHECKED + 2  # lamp-2 ... lamp-22: one needed, 20 to spare
        for n in (*range(5, last + 1), last + 2):
            await done(
                db, lambda s, n=n: catalog.create_product(s, product(f"N{n}", slug=f"lamp-{n}"))
            )
        assert await made() == (f"lamp-{last + 1}", True)  # every candidate taken: read them all
        assert await made() == (f"lamp-{last + 3}", True)
    finally:
        event.remove(db.write_engine.sync_engine, "before_cursor_execute", seen)

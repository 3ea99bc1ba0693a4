"""A demo shop for an empty store (`python server.py seed-demo`): categories, brands,
collections, products with variations, child products with stock, tax bands, extra currencies
shipping methods and two promotions (a code and an automatic one), so a newcomer sees believable data in GraphiQL at once.

Everything goes through the same domain functions as the API, so the demo obeys every rule
(and its stock is in the ledger).
"""

import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain import catalog, currencies, customfields, promotions, shipping, tax_bands
from domain.errors import DomainError, ErrorCode
from domain.pricing import default_spec
from models.catalog import Brand, Collection, Currency, Product

IMAGE = "https://picsum.photos/seed/stockroom-{slug}/800/800"

CURRENCIES = [  # illustrative rates against a USD store
    {"code": "EUR", "exchange_rate": Decimal("0.92"), "format": "€{price}"},
    {"code": "GBP", "exchange_rate": Decimal("0.79"), "format": "£{price}"},
    {"code": "JPY", "exchange_rate": Decimal("151"), "format": "¥{price}", "decimal_places": 0},
]

CATEGORIES = {  # slug: (name, parent slug, description)
    "clothing": ("Clothing", None, "Everyday clothes in organic cotton and wool."),
    "t-shirts": ("T-shirts", "clothing", "Tees in every size."),
    "hoodies": ("Hoodies", "clothing", "Warm layers."),
    "home": ("Home", None, "Things for the kitchen and the walls."),
    "mugs": ("Mugs", "home", "Stoneware and enamel."),
    "posters": ("Posters", "home", "Prints on heavy matte paper."),
    "accessories": ("Accessories", None, "Bags, hats and paper goods."),
}

# sku: name, price, category, brand, collections, tax band, extra fields
PRODUCTS: dict[str, tuple[str, int, str, str, list[str], str, dict[str, Any]]] = {
    "TEE-CLASSIC": (
        "Classic Tee",
        2500,
        "t-shirts",
        "northwind",
        ["summer-essentials", "bestsellers"],
        "standard",
        {"weight": 180, "custom_fields": {"material": "100% organic cotton"}},
    ),
    "HOODIE-HEAVY": (
        "Heavyweight Hoodie",
        5900,
        "hoodies",
        "northwind",
        ["bestsellers"],
        "standard",
        {"weight": 650, "sale_price": 4900, "custom_fields": {"material": "Brushed fleece"}},
    ),
    "MUG-ENAMEL": (
        "Enamel Camp Mug",
        1400,
        "mugs",
        "fernhill",
        ["summer-essentials"],
        "standard",
        {"weight": 220, "manage_stock": True, "stock": 40},
    ),
    "MUG-SET-4": (
        "Stoneware Mug Set (4)",
        3200,
        "mugs",
        "fernhill",
        [],
        "standard",
        {"weight": 1600, "sale_price": 2800, "manage_stock": True, "stock": 12},
    ),
    "POSTER-PEAKS-A2": (
        "Mountain Peaks Poster A2",
        1800,
        "posters",
        "fernhill",
        [],
        "standard",
        {"weight": 200, "manage_stock": True, "stock": 25},
    ),
    "TOTE-CANVAS": (
        "Canvas Tote Bag",
        1600,
        "accessories",
        "northwind",
        ["summer-essentials"],
        "standard",
        {"weight": 150, "manage_stock": True, "stock": 3},
    ),
    "BEANIE-WOOL": (
        "Wool Beanie",
        2200,
        "accessories",
        "northwind",
        [],
        "standard",
        {"weight": 90, "manage_stock": True, "stock": 0},
    ),
    "NOTEBOOK-FIELD": (
        "Field Notebook",
        900,
        "accessories",
        "fernhill",
        ["bestsellers"],
        "reduced",
        {"weight": 120, "manage_stock": True, "stock": 80},
    ),
    "GIFT-CARD-50": (
        "Gift Card $50",
        5000,
        "accessories",
        "fernhill",
        [],
        "zero",
        {"requires_shipping": False},
    ),
    "STICKERS-DRAFT": (
        "Sticker Pack (coming soon)",
        500,
        "accessories",
        "fernhill",
        [],
        "standard",
        {"status": catalog.Status.DRAFT},
    ),
}

VARIANTS = {  # parent sku: variations in order, each [(option, price change)]
    "TEE-CLASSIC": {
        "Size": [("S", 0), ("M", 0), ("L", 0), ("XL", 300)],
        "Colour": [("Black", 0), ("White", 0)],
    },
    "HOODIE-HEAVY": {"Size": [("S", 0), ("M", 0), ("L", 0)]},
}

SHIPPING = [
    {"name": "Standard", "slug": "standard", "carrier": "Postal service", "price": 495,
     "max_weight": 20000, "description": "3 to 5 working days."},
    {"name": "Express", "slug": "express", "carrier": "Courier", "price": 1295,
     "max_weight": 10000, "description": "Next working day."},
    {"name": "Free shipping", "slug": "free", "carrier": "Postal service", "price": 0,
     "min_subtotal": 7500, "description": "On orders of $75 or more."},
]  # fmt: skip

PROMOTIONS = [
    {"name": "Welcome: 10% off", "code": "WELCOME10", "kind": "PERCENT_OFF", "value": 10,
     "per_customer_limit": 1, "description": "One use per customer or email."},
    {"name": "$5 off Home over $40", "kind": "AMOUNT_OFF", "value": 500, "min_subtotal": 4000,
     "description": "Automatic: mugs and posters, on carts of $40 or more."},
]  # fmt: skip


@dataclass
class DemoSummary:
    """What the demo made, for the command line to report."""

    products: int = 0
    children: int = 0
    categories: int = 0
    currencies: list[str] = field(default_factory=list)
    shipping_methods: int = 0


async def catalogue_is_empty(session: AsyncSession) -> bool:
    return not await session.scalar(select(func.count()).select_from(Product))


async def seed(session: AsyncSession) -> DemoSummary:
    """Fill an empty catalogue with the demo shop, in the caller's transaction."""
    if not await catalogue_is_empty(session):
        raise DomainError(
            ErrorCode.INVALID, "the store already has products; the demo fills empty stores only"
        )
    summary = DemoSummary()
    summary.currencies = await _currencies(session)
    bands = {
        key: (await tax_bands.create_tax_band(session, {"name": name, "rate": Decimal(rate)})).id
        for key, name, rate in (
            ("standard", "Standard rate", "20"),
            ("reduced", "Reduced rate", "5"),
            ("zero", "Zero rate", "0"),
        )
    }
    categories = await _categories(session)
    summary.categories = len(categories)
    groups = await _groups(session)
    await customfields.create_definition(
        session,
        {"entity": "PRODUCT", "slug": "material", "name": "Material", "type": "STRING"},
    )
    for sku, (name, price, category, brand, collections, band, extra) in PRODUCTS.items():
        product = await catalog.create_product(
            session,
            {
                "sku": sku,
                "name": name,
                "price": price,
                "status": catalog.Status.LIVE,
                "description": f"{name}: part of the Stockroom demo shop.",
                "category_ids": [categories[category]],
                "brand_id": groups[brand],
                "collection_ids": [groups[c] for c in collections],
                "tax_band_id": bands[band],
                "images": [{"url": IMAGE.format(slug=catalog.slugify(name)), "alt": name}],
                **extra,
            },
        )
        summary.products += 1
        if sku in VARIANTS:
            summary.children += await _variants(session, product.id, VARIANTS[sku])
    summary.shipping_methods = await _shipping(session, bands["standard"])
    for spec in PROMOTIONS:
        home = [categories["home"]] if "code" not in spec else []
        await promotions.create_promotion(session, {**spec, "category_ids": home})
    return summary


async def _currencies(session: AsyncSession) -> list[str]:
    existing = set((await session.scalars(select(Currency.code))).all())
    added = []
    for spec in CURRENCIES:
        if spec["code"] not in existing:
            name = default_spec(str(spec["code"]))[0]
            await currencies.create_currency(session, {**spec, "name": name})
            added.append(str(spec["code"]))
    return added


async def _categories(session: AsyncSession) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    for slug, (name, parent, description) in CATEGORIES.items():
        row = await catalog.create_category(
            session,
            {
                "name": name,
                "slug": slug,
                "description": description,
                "parent_id": ids.get(parent or ""),
            },
        )
        ids[slug] = row.id
    return ids


async def _groups(session: AsyncSession) -> dict[str, uuid.UUID]:
    rows = [
        await catalog.create_group(
            session, Brand, {"name": "Northwind Apparel", "slug": "northwind"}
        ),
        await catalog.create_group(session, Brand, {"name": "Fernhill Goods", "slug": "fernhill"}),
        await catalog.create_group(session, Collection, {"name": "Summer Essentials"}),
        await catalog.create_group(session, Collection, {"name": "Bestsellers"}),
    ]
    return {row.slug: row.id for row in rows}


async def _variants(
    session: AsyncSession, product_id: uuid.UUID, variations: dict[str, list[tuple[str, int]]]
) -> int:
    """Variations and options, then one child per combination with some stock of its own."""
    for variation_name, options in variations.items():
        variation = await catalog.create_variation(session, product_id, {"name": variation_name})
        for option_name, change in options:
            await catalog.create_option(
                session, variation.id, {"name": option_name, "price_change": change}
            )
    await catalog.build_children(session, product_id)
    children = (
        await session.scalars(
            select(Product).where(Product.parent_id == product_id).order_by(Product.sku)
        )
    ).all()
    for i, child in enumerate(children):
        stock = (4, 9, 15, 0, 22)[i % 5]  # some low, one sold out
        await catalog.update_product(session, child.id, {"manage_stock": True, "stock": stock})
    return len(children)


async def _shipping(session: AsyncSession, band: uuid.UUID) -> int:
    for method in SHIPPING:
        await shipping.create_method(session, {**method, "tax_band_id": band})
    return len(SHIPPING)

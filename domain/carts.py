"""Carts (API.md section 6): client-named, made on first write, priced live, swept when expired.

Concurrency: every write to a cart first "touches" its row (UPDATE ... SET updated_at), which
locks it on PostgreSQL (SQLite serialises writers anyway), so the writes of one cart queue up.
An add opens its cart with one INSERT ... ON CONFLICT DO UPDATE (the touch, or the new cart),
so two first adds of the same reference both succeed on the one cart; adding a product already
in the cart is one upsert that raises the quantity in the database. Each write returns the cart
as it left it, read in its own transaction (no second read for the answer).

Prices are live: a line's unit price is the product's effective price now (custom lines: their
own price) in the store currency; `price_lines` shows them in any currency, taxed per line.
"""

import asyncio
import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Insert, bindparam, delete, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from domain.catalog import Status, effective_price
from domain.errors import DomainError, ErrorCode, raise_all
from domain.pricing import CurrencySpec, Money, PriceBreakdown, breakdown
from domain.text import clean_sku
from domain.validation import require_text
from models.base import utcnow
from models.carts import Cart, CartItem
from models.catalog import Product, TaxBand
from models.engine import Database, database_unavailable
from models.promotions import CartPromotionCode
from models.settings import Settings

log = logging.getLogger("stockroom.carts")

REFERENCE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
MAX_LINE_QUANTITY = 100_000
"""Upper bound of one line's quantity: keeps sums far from integer overflow."""
SWEEP_INTERVAL_SECONDS = 300
SWEEP_BATCH = 500


def insert_of(dialect: str) -> Any:
    """The INSERT construct of a dialect (by name) that knows ON CONFLICT."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def insert_for(session: AsyncSession, model: Any) -> Insert:
    """An INSERT of the session's dialect, which knows ON CONFLICT (PostgreSQL and SQLite);
    `model` is a model or a table (a table's INSERT skips the ORM's bulk-insert machinery)."""
    return insert_of(session.get_bind().dialect.name)(model)  # type: ignore[no-any-return]


# --- lines and their prices ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One line to price or to order: what it is, in store-currency minor units without tax.

    `purchasable` is False for a product that may not be sold now (not LIVE, or a parent
    product whose children are the ones to buy)."""

    item_id: uuid.UUID | None
    product_id: uuid.UUID | None
    sku: str
    name: str
    quantity: int
    unit_price: int
    tax_rate: Decimal
    unit_weight: int
    requires_shipping: bool
    purchasable: bool = True
    manage_stock: bool = False
    available: int = 0


@dataclass(frozen=True, slots=True)
class PricedLine:
    line: Line
    unit: PriceBreakdown
    total: PriceBreakdown


@dataclass(frozen=True, slots=True)
class PricedLines:
    """Lines shown in one currency. `store_subtotal` (store currency, without tax) is what
    shipping eligibility is judged on."""

    lines: list[PricedLine]
    subtotal: PriceBreakdown
    store_subtotal: int
    weight: int
    requires_shipping: bool
    item_count: int


def price_line(line: Line, store: CurrencySpec, target: CurrencySpec) -> PricedLine:
    """The unit and the whole line, each converted without tax then taxed (half-up, per line)."""
    return PricedLine(
        line=line,
        unit=breakdown(line.unit_price, line.tax_rate, store, target),
        total=breakdown(line.unit_price * line.quantity, line.tax_rate, store, target),
    )


def price_lines(lines: Sequence[Line], store: CurrencySpec, target: CurrencySpec) -> PricedLines:
    priced = [price_line(line, store, target) for line in lines]
    without = sum(p.total.without_tax.amount for p in priced)
    tax = sum(p.total.tax.amount for p in priced)
    return PricedLines(
        lines=priced,
        subtotal=PriceBreakdown(Money(without, target), Money(tax, target)),
        store_subtotal=sum(line.unit_price * line.quantity for line in lines),
        weight=sum(line.unit_weight * line.quantity for line in lines),
        requires_shipping=any(line.requires_shipping for line in lines),
        item_count=sum(line.quantity for line in lines),
    )


def line_problems(
    lines: Iterable[Line], field_of: Mapping[int, list[str]] | None = None
) -> list[DomainError]:
    """PRODUCT_UNAVAILABLE / INSUFFICIENT_STOCK for lines that cannot be bought as they are.
    Stock is compared with `available` per product (the quantities of one product add up)."""
    errors: list[DomainError] = []
    wanted: dict[uuid.UUID, int] = {}
    for index, line in enumerate(lines):
        field = (field_of or {}).get(index, ["reference"])
        if not line.purchasable:
            message = f"{line.name} ({line.sku}) is not available for sale"
            errors.append(DomainError(ErrorCode.PRODUCT_UNAVAILABLE, message, field))
            continue
        if line.product_id is None or not line.manage_stock:
            continue
        wanted[line.product_id] = wanted.get(line.product_id, 0) + line.quantity
        if wanted[line.product_id] > line.available:
            message = f"only {max(line.available, 0)} of {line.name} ({line.sku}) available"
            errors.append(DomainError(ErrorCode.INSUFFICIENT_STOCK, message, field))
    return errors


_CHILD = aliased(Product, name="child")
IS_PARENT = exists().where(_CHILD.parent_id == Product.id)
"""Whether the row's product has children (a parent is not sold itself). Built once: SQL
expressions are immutable, and building this one took 0.8 ms, twice per cart request."""


async def product_lines(
    session: AsyncSession, quantities: Sequence[tuple[uuid.UUID, int]]
) -> dict[uuid.UUID, Line]:
    """Lines for catalogue products, read now (price, tax rate, stock), by product id."""
    if not quantities:
        return {}
    stmt = (
        select(Product, TaxBand.rate, IS_PARENT.label("is_parent"))
        .outerjoin(TaxBand, TaxBand.id == Product.tax_band_id)
        .where(Product.id.in_([pid for pid, _ in quantities]))
    )
    rows = {p.id: (p, rate, parent) for p, rate, parent in (await session.execute(stmt)).all()}
    return {
        pid: product_line(rows[pid][0], qty, rows[pid][1], bool(rows[pid][2]))
        for pid, qty in quantities
        if pid in rows
    }


def product_line(
    product: Product,
    quantity: int,
    rate: Decimal | None,
    is_parent: bool,
    item_id: uuid.UUID | None = None,
) -> Line:
    return Line(
        item_id=item_id,
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        quantity=quantity,
        unit_price=effective_price(product),
        tax_rate=rate or Decimal(0),
        unit_weight=product.weight or 0,
        requires_shipping=product.requires_shipping,
        purchasable=product.status == Status.LIVE.value and not is_parent,
        manage_stock=product.manage_stock,
        available=product.stock_available,
    )


def custom_line(
    item_id: uuid.UUID | None, sku: str, name: str, price: int, quantity: int, rate: Decimal | None
) -> Line:
    """A non-catalogue line: no weight, no stock, and no shipping needed (fees, services)."""
    return Line(
        item_id=item_id,
        product_id=None,
        sku=sku,
        name=name,
        quantity=quantity,
        unit_price=price,
        tax_rate=rate or Decimal(0),
        unit_weight=0,
        requires_shipping=False,
    )


# --- reading carts ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CartRow:
    """What a cart's answer needs of its row. `has_codes`: promotion codes were entered on it
    (only then are they read)."""

    id: uuid.UUID
    reference: str
    created_at: datetime
    updated_at: datetime
    has_codes: bool


@dataclass(frozen=True, slots=True)
class CartContents:
    """A live cart, its lines in display order (oldest first) and the product rows read for
    them (by id: the answer's `product` fields need no second read)."""

    cart: CartRow
    lines: list[Line]
    products: dict[uuid.UUID, Product]


def check_reference(reference: str) -> str:
    if not REFERENCE.match(reference):
        raise DomainError(
            ErrorCode.INVALID,
            "reference must be 1 to 64 of A-Z, a-z, 0-9, _ and -",
            ["reference"],
        )
    return reference


def _cutoff(ttl: timedelta) -> datetime:
    return utcnow() - ttl


HAS_CODES = (
    exists()
    .where(CartPromotionCode.cart_id == Cart.id)  # type: ignore[arg-type]
    .label("has_codes")
)
CART_COLUMNS = (Cart.id, Cart.created_at, Cart.updated_at, HAS_CODES)


def _cart_row(reference: str, row: Any) -> CartRow:
    return CartRow(row[0], reference, row[1], row[2], bool(row[3]))


async def live_cart(session: AsyncSession, reference: str, ttl: timedelta) -> CartRow | None:
    """The cart of `reference` unless it does not exist or has expired."""
    stmt = select(*CART_COLUMNS).where(Cart.reference == reference, Cart.updated_at >= _cutoff(ttl))
    row = (await session.execute(stmt)).first()
    return _cart_row(reference, row) if row is not None else None


async def reference_of_item(session: AsyncSession, item_id: uuid.UUID) -> str | None:
    """The reference of the cart holding a line (for `node(id:)` of a CartItem)."""
    stmt = select(Cart.reference).join(CartItem, CartItem.cart_id == Cart.id)
    return await session.scalar(stmt.where(CartItem.id == item_id))


_BAND_ID = func.coalesce(CartItem.tax_band_id, Product.tax_band_id)
_LINES = (
    select(CartItem, Product, TaxBand.rate, IS_PARENT.label("is_parent"))
    .outerjoin(Product, Product.id == CartItem.product_id)
    .outerjoin(TaxBand, TaxBand.id == _BAND_ID)
    .where(CartItem.cart_id == bindparam("cart_id"))
    .order_by(CartItem.created_at, CartItem.id)
)
"""Every line of a cart with its product and tax rate (built once, like IS_PARENT)."""


async def cart_lines(
    session: AsyncSession, cart_id: uuid.UUID
) -> tuple[list[Line], dict[uuid.UUID, Product]]:
    """Every line of a cart, priced from the catalogue now, in one query; and its products."""
    rows = await session.execute(_LINES, {"cart_id": cart_id})
    return _priced(rows.all())


def _priced(rows: Sequence[Any]) -> tuple[list[Line], dict[uuid.UUID, Product]]:
    """Lines from rows of (cart item, product, tax rate, is parent), and their products."""
    lines, products = [], {}
    for item, product, rate, is_parent in rows:
        if product is not None:
            products[product.id] = product
            lines.append(product_line(product, item.quantity, rate, bool(is_parent), item.id))
        else:
            lines.append(custom_line(item.id, item.sku, item.name, item.price, item.quantity, rate))
    return lines, products


_LOCKED_LINES = (
    select(Cart.id, HAS_CODES, CartItem, Product, TaxBand.rate, IS_PARENT.label("is_parent"))
    .select_from(Cart)
    .join(CartItem, CartItem.cart_id == Cart.id)
    .outerjoin(Product, Product.id == CartItem.product_id)
    .outerjoin(TaxBand, TaxBand.id == _BAND_ID)
    .where(
        Cart.reference == bindparam("reference"),
        Cart.updated_at >= bindparam("cutoff", type_=Cart.__table__.c.updated_at.type),  # type: ignore[attr-defined]
    )
    .order_by(CartItem.created_at, CartItem.id)
    .with_for_update(of=Cart)
)
"""A live cart's lines as `_LINES` reads them, with the cart's id and whether codes were
entered on it, the cart's row locked (PostgreSQL; SQLite writers are serial)."""


async def locked_cart_lines(
    session: AsyncSession, reference: str, ttl: timedelta
) -> tuple[uuid.UUID, bool, list[Line]] | None:
    """The live cart of `reference` locked until the transaction ends, in one query: its id,
    whether codes were entered on it, and its lines priced now. None when it has no lines (or
    does not exist, or expired: nothing is locked then)."""
    values = {"reference": check_reference(reference), "cutoff": _cutoff(ttl)}
    rows = (await session.execute(_LOCKED_LINES, values)).all()
    if not rows:
        return None
    lines, _ = _priced([row[2:] for row in rows])
    return rows[0][0], bool(rows[0][1]), lines


async def contents_of(session: AsyncSession, cart: CartRow) -> CartContents:
    lines, products = await cart_lines(session, cart.id)
    return CartContents(cart, lines, products)


async def cart_contents(
    session: AsyncSession, reference: str, ttl: timedelta
) -> CartContents | None:
    cart = await live_cart(session, check_reference(reference), ttl)
    return await contents_of(session, cart) if cart is not None else None


# --- writing carts ---------------------------------------------------------------------


async def _touch(session: AsyncSession, reference: str, ttl: timedelta) -> CartRow | None:
    """Mark a live cart as just used (which also locks its row); None if there is none."""
    result = await session.execute(
        update(Cart)
        .where(Cart.reference == reference, Cart.updated_at >= _cutoff(ttl))
        .values(updated_at=utcnow())
        .returning(*CART_COLUMNS)
    )
    row = result.first()
    return _cart_row(reference, row) if row is not None else None


@cache
def _open_cart_upsert(dialect: str) -> Insert:
    """INSERT the cart, or touch it while it is live (RETURNING what the answer needs): built
    once per dialect, run with bind parameters (building it took a good part of an add)."""
    table = Cart.__table__  # type: ignore[attr-defined]
    now = bindparam("now", type_=table.c.updated_at.type)
    stmt = insert_of(dialect)(table).values(
        id=bindparam("id", type_=table.c.id.type),
        reference=bindparam("reference"),
        created_at=now,
        updated_at=now,
    )
    return stmt.on_conflict_do_update(
        index_elements=["reference"],
        set_={"updated_at": stmt.excluded.updated_at},
        where=table.c.updated_at >= bindparam("cutoff", type_=table.c.updated_at.type),
    ).returning(*CART_COLUMNS)


async def open_cart(session: AsyncSession, reference: str, ttl: timedelta) -> CartRow:
    """The live cart of `reference`, touched and locked, made now if there is none: one
    upsert, safe against concurrent first uses. An expired cart the sweeper has not removed
    yet makes the upsert change nothing; it is then deleted and a fresh, empty cart made."""
    check_reference(reference)
    upsert = _open_cart_upsert(session.get_bind().dialect.name)
    for _ in range(2):
        now = utcnow()
        values = {"id": uuid.uuid4(), "reference": reference, "now": now, "cutoff": now - ttl}
        row = (await session.execute(upsert, values)).first()
        if row is not None:
            return _cart_row(reference, row)
        await session.execute(
            delete(Cart).where(Cart.reference == reference, Cart.updated_at < _cutoff(ttl))
        )
    raise AssertionError("an expired cart was deleted, yet the upsert found it again")


async def existing_cart(session: AsyncSession, reference: str, ttl: timedelta) -> CartRow:
    """The live cart of `reference`, touched and locked; NOT_FOUND if none."""
    cart = await _touch(session, check_reference(reference), ttl)
    if cart is None:
        raise DomainError(ErrorCode.NOT_FOUND, "no cart with that reference", ["reference"])
    return cart


def _check_quantity(quantity: int, field: list[str], allow_zero: bool = False) -> None:
    low = 0 if allow_zero else 1
    if not low <= quantity <= MAX_LINE_QUANTITY:
        raise DomainError(
            ErrorCode.INVALID, f"quantity must be between {low} and {MAX_LINE_QUANTITY}", field
        )


def _unavailable() -> DomainError:
    return DomainError(
        ErrorCode.PRODUCT_UNAVAILABLE, "no product with that id is for sale", ["productId"]
    )


def _check_sellable(line: Line | None) -> None:
    """PRODUCT_UNAVAILABLE (also for a product that no longer exists) or INSUFFICIENT_STOCK
    when the line cannot be in a cart in its quantity."""
    if line is None:  # deleted (or never made): not for sale
        raise _unavailable()
    problems = line_problems([line], {0: ["quantity"]})
    for problem in problems:
        if problem.code is ErrorCode.PRODUCT_UNAVAILABLE:
            problem.field = ["productId"]
    raise_all(problems)


async def _sellable_line(session: AsyncSession, product_id: uuid.UUID, quantity: int) -> Line:
    """The product as a line of `quantity` units, if it may be in a cart so (`_check_sellable`)."""
    line = (await product_lines(session, [(product_id, quantity)])).get(product_id)
    _check_sellable(line)
    assert line is not None
    return line


@cache
def _product_line_upsert(dialect: str) -> Insert:
    """INSERT INTO cart_item SELECT ... FROM product WHERE id = :product_id, merged into the
    cart's line of that product when it has one: no row comes back for a product that does
    not exist. Built once per dialect (see `_open_cart_upsert`)."""
    table = CartItem.__table__  # type: ignore[attr-defined]
    values = select(
        bindparam("id", type_=table.c.id.type),
        bindparam("cart_id", type_=table.c.cart_id.type),
        Product.id,
        bindparam("quantity", type_=table.c.quantity.type),
        bindparam("now", type_=table.c.created_at.type),
    ).where(Product.id == bindparam("product_id"))
    stmt = insert_of(dialect)(table).from_select(
        ["id", "cart_id", "product_id", "quantity", "created_at"], values
    )
    return stmt.on_conflict_do_update(
        index_elements=["cart_id", "product_id"],
        set_={"quantity": table.c.quantity + stmt.excluded.quantity},
    ).returning(table.c.id)


async def add_item(
    session: AsyncSession, reference: str, product_id: uuid.UUID, quantity: int, ttl: timedelta
) -> CartContents:
    """Add a product, or raise its quantity if the cart has it already (one upsert), then
    check the whole line as it now is (a failed check rolls the transaction back). Returns
    the cart as it now is: three statements in all."""
    _check_quantity(quantity, ["quantity"])
    cart = await open_cart(session, reference, ttl)
    line = {
        "id": uuid.uuid4(),
        "cart_id": cart.id,
        "product_id": product_id,
        "quantity": quantity,
        "now": utcnow(),
    }
    upsert = _product_line_upsert(session.get_bind().dialect.name)
    added = await session.scalar(upsert, line)
    if added is None:
        raise _unavailable()
    contents = await contents_of(session, cart)
    line = next((line for line in contents.lines if line.item_id == added), None)
    assert line is not None
    _check_quantity(line.quantity, ["quantity"])
    _check_sellable(line)
    return contents


async def add_custom_item(
    session: AsyncSession, reference: str, data: Mapping[str, Any], ttl: timedelta
) -> CartContents:
    """Add a non-catalogue line with its own sku, name, price (store currency, without tax),
    quantity and optional tax band. Each call adds a new line."""
    errors: list[DomainError] = []
    clean_sku(errors, data.get("sku"), ["input", "sku"])
    require_text(errors, data.get("name"), ["input", "name"], 300)
    price, quantity = data.get("price"), data.get("quantity")
    if price is None or price < 0:
        errors.append(DomainError(ErrorCode.INVALID, "price must be 0 or more", ["input", "price"]))
    try:
        _check_quantity(quantity if quantity is not None else 1, ["input", "quantity"])
    except DomainError as error:
        errors.append(error)
    band_id = data.get("tax_band_id")
    if band_id is not None and await session.get(TaxBand, band_id) is None:
        errors.append(
            DomainError(ErrorCode.NOT_FOUND, "no tax band with that id", ["input", "taxBandId"])
        )
    raise_all(errors)
    cart = await open_cart(session, reference, ttl)
    session.add(
        CartItem(
            cart_id=cart.id,
            sku=data["sku"].strip(),
            name=data["name"].strip(),
            price=price,
            quantity=quantity if quantity is not None else 1,
            tax_band_id=band_id,
        )
    )
    await session.flush()
    return await contents_of(session, cart)


async def _cart_item(session: AsyncSession, cart_id: uuid.UUID, item_id: uuid.UUID) -> CartItem:
    item = await session.get(CartItem, item_id)
    if item is None or item.cart_id != cart_id:
        raise DomainError(ErrorCode.NOT_FOUND, "no item with that id in this cart", ["itemId"])
    return item


async def update_item(
    session: AsyncSession, reference: str, item_id: uuid.UUID, quantity: int, ttl: timedelta
) -> CartContents:
    """Set a line's quantity; 0 removes it. Raising a catalogue line re-checks the product."""
    _check_quantity(quantity, ["quantity"], allow_zero=True)
    cart = await existing_cart(session, reference, ttl)
    item = await _cart_item(session, cart.id, item_id)
    if quantity == 0:
        await session.delete(item)
    else:
        if item.product_id is not None and quantity > item.quantity:
            await _sellable_line(session, item.product_id, quantity)
        item.quantity = quantity
    await session.flush()
    return await contents_of(session, cart)


async def remove_item(
    session: AsyncSession, reference: str, item_id: uuid.UUID, ttl: timedelta
) -> CartContents:
    cart = await existing_cart(session, reference, ttl)
    await session.delete(await _cart_item(session, cart.id, item_id))
    await session.flush()
    return await contents_of(session, cart)


async def delete_cart(session: AsyncSession, reference: str) -> None:
    """Delete a cart and its lines (nothing to do for a cart that does not exist)."""
    await session.execute(delete(Cart).where(Cart.reference == check_reference(reference)))


_CART_TABLE = Cart.__table__  # type: ignore[attr-defined]
_DELETE_CART = delete(_CART_TABLE).where(
    _CART_TABLE.c.id == bindparam("cart_id", type_=_CART_TABLE.c.id.type)
)
"""Core, built once: the ORM's bulk DELETE (and building it) cost more than the statement;
the lines go with the cart (ON DELETE CASCADE)."""


async def delete_cart_by_id(session: AsyncSession, cart_id: uuid.UUID) -> None:
    await session.execute(_DELETE_CART, {"cart_id": cart_id})


# --- expiry ----------------------------------------------------------------------------


async def delete_expired_carts(session: AsyncSession, ttl: timedelta, limit: int) -> int:
    """Delete up to `limit` carts untouched for `ttl` (their lines go with them)."""
    expired = select(Cart.id).where(Cart.updated_at < _cutoff(ttl)).limit(limit)
    result = await session.execute(delete(Cart).where(Cart.id.in_(expired.scalar_subquery())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def sweep_expired_carts(db: Database, ttl: timedelta, batch: int = SWEEP_BATCH) -> int:
    """Delete every expired cart, in bounded batches (short transactions); returns how many."""
    swept = 0
    while True:
        async with db.transaction() as session:
            count = await delete_expired_carts(session, ttl, batch)
        swept += count
        if count < batch:
            return swept


async def expired_cart_sweeper(
    db: Database, settings: Settings, interval: float = SWEEP_INTERVAL_SECONDS
) -> None:
    """A server background job: sweep expired carts every `interval` seconds. Each server
    process runs one; concurrent sweeps are harmless (a cart is deleted once)."""
    ttl = timedelta(days=settings.cart_ttl_days)
    while True:
        try:
            swept = await sweep_expired_carts(db, ttl)
            if swept:
                log.info("swept %d expired carts", swept)
        except Exception as error:
            if not database_unavailable(error):
                log.exception("expired-cart sweep failed; retrying at the next interval")
            else:  # an outage, not a bug
                log.warning("expired-cart sweep found the database unavailable: %s", error)
        await asyncio.sleep(interval)

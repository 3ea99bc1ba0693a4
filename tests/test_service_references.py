"""Service tier: who may delete what is decided by the foreign keys declared in models/ (no
lists filled at import time). Domain functions against the real databases (SQLite and
PostgreSQL), no GraphQL."""

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from domain import currencies, tax_bands, versions
from domain.errors import DomainError, ErrorCode
from domain.validation import is_referenced
from models import metadata, migrate
from models.carts import Cart, CartItem
from models.catalog import Currency, Product, TaxBand
from models.engine import Database
from models.orders import Order, OrderItem
from models.shipping import ShippingMethod

EUR = {"code": "EUR", "name": "Euro", "exchange_rate": "0.9", "format": "€{price}"}


def order_in(currency: str, number: int = 1) -> Order:
    return Order(
        number=number,
        customer_email="buyer@example.com",
        customer_name="Buyer",
        billing_address={},
        subtotal=0,
        tax=0,
        total=0,
        currency=currency,
        exchange_rate=Decimal(1),
    )


def restricting_references(table: str) -> set[str]:
    return {
        f"{fk.parent.table.name}.{fk.parent.name}"
        for other in metadata.tables.values()
        for fk in other.foreign_keys
        if fk.column.table.name == table
        and (fk.ondelete or "NO ACTION") in {"RESTRICT", "NO ACTION"}
    }


def test_the_references_are_the_declared_foreign_keys() -> None:
    assert restricting_references("tax_band") == {
        "product.tax_band_id",
        "shipping_method.tax_band_id",
        "cart_item.tax_band_id",
    }
    assert restricting_references("currency") == {"order.currency"}


async def test_a_tax_band_in_use_by_any_table_is_not_deleted(db: Database) -> None:
    async with db.transaction() as s:
        bands = [
            await tax_bands.create_tax_band(s, {"name": f"B{i}", "rate": "5"}) for i in range(4)
        ]
        cart = Cart(reference="c1")
        s.add(cart)
        await s.flush()
        s.add_all(
            [
                Product(sku="p", slug="p", name="P", price=1, tax_band_id=bands[0].id),
                ShippingMethod(name="M", slug="m", price=1, tax_band_id=bands[1].id),
                CartItem(
                    cart_id=cart.id, quantity=1, sku="c", name="C", price=1, tax_band_id=bands[2].id
                ),
            ]
        )
    for band in bands[:3]:
        with pytest.raises(DomainError) as refused:
            async with db.transaction() as s:
                await tax_bands.delete_tax_band(s, band.id)
        assert (refused.value.code, refused.value.field) == (ErrorCode.IN_USE, ["id"])
    async with db.transaction() as s:
        await tax_bands.delete_tax_band(s, bands[3].id)
    async with db.reader() as s:
        left = set((await s.scalars(select(TaxBand.id))).all())
    assert left == {b.id for b in bands[:3]}


async def test_a_currency_orders_are_in_is_not_deleted_nor_renamed(db: Database) -> None:
    async with db.transaction() as s:
        eur = await currencies.create_currency(s, EUR)
        gbp = await currencies.create_currency(s, {**EUR, "code": "GBP", "name": "Pound"})
        s.add(order_in("EUR"))
    for change in (
        lambda s: currencies.delete_currency(s, eur.id),
        lambda s: currencies.update_currency(s, eur.id, {"code": "EUX"}),
    ):
        with pytest.raises(DomainError) as refused:
            async with db.transaction() as s:
                await change(s)
        assert refused.value.code is ErrorCode.IN_USE
    async with db.transaction() as s:
        assert (await currencies.update_currency(s, eur.id, {"name": "Euro (EU)"})).code == "EUR"
        assert (await currencies.update_currency(s, gbp.id, {"code": "CHF"})).code == "CHF"
        await currencies.delete_currency(s, gbp.id)
    async with db.reader() as s:
        assert set((await s.scalars(select(Currency.code))).all()) == {"USD", "EUR"}


async def test_the_store_currency_is_never_deleted(db: Database) -> None:
    async with db.reader() as s:
        usd = await s.scalar(select(Currency).where(Currency.is_default))
        assert usd is not None and not await is_referenced(s, usd)
    with pytest.raises(DomainError) as refused:
        async with db.transaction() as s:
            await currencies.delete_currency(s, usd.id)
    assert refused.value.code is ErrorCode.IN_USE


async def test_the_database_refuses_deleting_a_referenced_currency(db: Database) -> None:
    """Without the domain's check (as a concurrent delete would slip past it), the foreign key
    still refuses, on both backends."""
    async with db.transaction() as s:
        await currencies.create_currency(s, EUR)
        s.add(order_in("EUR"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            await s.execute(delete(Currency).where(Currency.code == "EUR"))
    with pytest.raises(IntegrityError):
        async with db.transaction() as s:
            s.add(order_in("XYZ", number=2))


async def test_the_sqlite_migration_keeps_the_rows_of_rebuilt_tables(tmp_path: Path) -> None:
    """Batch mode rebuilds `order` on SQLite: its items must survive (foreign keys are off
    while migrating, so dropping the old table cascades nowhere)."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/old.db")
    try:
        await migrate.upgrade(db, "361139174d29")
        order = order_in("USD")
        with versions.suspended():  # no version_stamp table at that revision
            async with db.transaction() as s:
                s.add(
                    Currency(
                        code="USD",
                        name="US dollar",
                        exchange_rate=Decimal(1),
                        format="${price}",
                        is_default=True,
                    )
                )
                await s.flush()
                s.add(order)
                await s.flush()
                s.add(
                    OrderItem(
                        order_id=order.id,
                        position=0,
                        sku="s",
                        name="N",
                        quantity=1,
                        tax_rate=Decimal(0),
                        unit_price=1,
                        unit_tax=0,
                        line_price=1,
                        line_tax=0,
                    )
                )
        await migrate.upgrade(db)
        async with db.reader() as s:
            assert (await s.scalars(select(OrderItem.order_id))).all() == [order.id]
            assert await s.get(Order, order.id) is not None
        with pytest.raises(IntegrityError):
            async with db.transaction() as s:
                await s.execute(delete(Currency).where(Currency.code == "USD"))
    finally:
        await db.dispose()

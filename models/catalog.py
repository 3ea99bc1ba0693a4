"""Catalogue tables: tax bands, currencies, products, categories, brands, collections,
variations and their options, and custom-field definitions."""

import functools
import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ARRAY,
    JSON,
    CheckConstraint,
    Index,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    event,
    literal_column,
    text,
)
from sqlmodel import Column, Field, SQLModel

from models.base import DecimalText, UTCDateTime, new_id, utcnow


class TaxBand(SQLModel, table=True):
    __tablename__ = "tax_band"

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    rate: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Currency(SQLModel, table=True):
    """A currency prices can show in. The default one is the store currency (rate 1)."""

    __tablename__ = "currency"
    __table_args__ = (
        Index(
            "uq_currency_single_default",
            "is_default",
            unique=True,
            sqlite_where=text("is_default"),
            postgresql_where=text("is_default"),
        ),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    code: str = Field(max_length=3, unique=True, index=True)
    name: str = Field(max_length=100)
    exchange_rate: Decimal = Field(sa_column=Column(DecimalText, nullable=False))
    format: str = Field(max_length=40)
    decimal_places: int = Field(default=2)
    decimal_point: str = Field(default=".", max_length=4)
    thousand_separator: str = Field(default=",", max_length=4)
    enabled: bool = Field(default=True)
    is_default: bool = Field(default=False)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Product(SQLModel, table=True):
    """A sellable product. Stock figures live on the row so that allocation is one conditional
    UPDATE, and the CHECK constraint makes `0 <= allocated <= total` a database rule."""

    __tablename__ = "product"
    __table_args__ = (
        CheckConstraint(
            "stock_allocated >= 0 AND stock_allocated <= stock_total", name="ck_product_stock"
        ),
        CheckConstraint("price >= 0", name="ck_product_price"),
        CheckConstraint("sale_price IS NULL OR sale_price >= 0", name="ck_product_sale_price"),
        # Storefront listings filter on status and sort; admin listings sort without it.
        Index("ix_product_status_name", "status", "sort_name", "id"),
        Index("ix_product_status_price", "status", "price", "id"),
        Index("ix_product_status_created", "status", "created_at", "id"),
        Index("ix_product_status_updated", "status", "updated_at", "id"),
        Index("ix_product_name", "sort_name", "id"),
        Index("ix_product_price", "price", "id"),
        Index("ix_product_created", "created_at", "id"),
        Index("ix_product_updated", "updated_at", "id"),
        # A product's children in their order (the product page) and "has it children?" (carts).
        # Partial: parent_id is NULL on almost every row, and SQLite's statistics count the NULLs
        # as one value, so on a full index ANALYZE makes parent_id look unselective and SQLite
        # scans the table instead (measured at 100k products: product page 43 -> 13 ms, and a
        # cart request's EXISTS scanned every product: 300 ms a checkout flow).
        Index(
            "ix_product_parent_created",
            "parent_id",
            "created_at",
            "sku",
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
        # One child per option combination: rebuilding children can never duplicate one.
        UniqueConstraint("parent_id", "combination_key", name="uq_product_parent_combination"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    sku: str = Field(max_length=120, unique=True, index=True)
    slug: str = Field(max_length=200, unique=True, index=True)
    name: str = Field(max_length=300)
    sort_name: str = Field(
        default="", max_length=300, description="casefolded name (set on every write)"
    )
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="DRAFT", max_length=10)  # LIVE | DRAFT
    price: int = Field(description="Minor units of the store currency, without tax.")
    sale_price: int | None = Field(default=None)
    tax_band_id: uuid.UUID | None = Field(default=None, foreign_key="tax_band.id", index=True)
    brand_id: uuid.UUID | None = Field(
        default=None, foreign_key="brand.id", ondelete="SET NULL", index=True
    )
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="product.id", ondelete="CASCADE")
    combination_key: str | None = Field(
        default=None, max_length=400, description="a child's option ids, sorted, comma-separated"
    )
    weight: int | None = Field(default=None, description="Grams.")
    requires_shipping: bool = Field(default=True)
    manage_stock: bool = Field(default=False)
    stock_total: int = Field(default=0)
    stock_allocated: int = Field(default=0)
    images: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

    @property
    def stock_available(self) -> int:
        return self.stock_total - self.stock_allocated


@event.listens_for(Product, "before_insert")
@event.listens_for(Product, "before_update")
def _keep_sort_name(_mapper: Any, _connection: Any, product: Product) -> None:
    """NAME sorting ignores case: `sort_name` follows `name` on every ORM write (bulk Core
    inserts, as in bench/, set it themselves)."""
    product.sort_name = (product.name or "").casefold()


class Category(SQLModel, table=True):
    """A node of the category tree; `position` orders siblings (0, 1, 2, ...)."""

    __tablename__ = "category"
    __table_args__ = (Index("ix_category_parent_position", "parent_id", "position", "name"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=200, unique=True, index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    parent_id: uuid.UUID | None = Field(default=None, foreign_key="category.id")
    position: int = Field(default=0)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Brand(SQLModel, table=True):
    __tablename__ = "brand"
    __table_args__ = (Index("ix_brand_status_name", "status", "name", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=200, unique=True, index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="LIVE", max_length=10)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class Collection(SQLModel, table=True):
    __tablename__ = "collection"
    __table_args__ = (Index("ix_collection_status_name", "status", "name", "id"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    name: str = Field(max_length=200)
    slug: str = Field(max_length=200, unique=True, index=True)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    status: str = Field(default="LIVE", max_length=10)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ProductCategory(SQLModel, table=True):
    """Product <-> category. The primary key serves "categories of these products"; the index
    serves "products of these categories"."""

    __tablename__ = "product_category"
    __table_args__ = (Index("ix_product_category_category", "category_id", "product_id"),)

    product_id: uuid.UUID = Field(foreign_key="product.id", ondelete="CASCADE", primary_key=True)
    category_id: uuid.UUID = Field(foreign_key="category.id", ondelete="CASCADE", primary_key=True)


PRODUCT_CATEGORY_IDS = literal_column("product.category_ids", ARRAY(Uuid()))
"""PostgreSQL only, not mapped (ORM reads never load it): `product.category_ids`, the product's
category ids sorted, kept in step with its ProductCategory links by triggers (migration
b2c3d4e5f6a8); what facets count categories from."""


@functools.cache
def product_table_with_category_ids() -> Table:
    """PostgreSQL: the product table with PRODUCT_CATEGORY_IDS, for a Core INSERT that sets
    it with the row (the links' triggers then find nothing to change)."""
    columns = [c._copy() for c in Product.__table__.columns]  # type: ignore[attr-defined]
    return Table("product", MetaData(), *columns, Column("category_ids", ARRAY(Uuid())))


class ProductCollection(SQLModel, table=True):
    __tablename__ = "product_collection"
    __table_args__ = (Index("ix_product_collection_collection", "collection_id", "product_id"),)

    product_id: uuid.UUID = Field(foreign_key="product.id", ondelete="CASCADE", primary_key=True)
    collection_id: uuid.UUID = Field(
        foreign_key="collection.id", ondelete="CASCADE", primary_key=True
    )


class Variation(SQLModel, table=True):
    """An axis of options of a product (size, colour); `position` is the order of creation,
    which is the order of the SKU and slug suffixes of its children."""

    __tablename__ = "variation"
    __table_args__ = (
        UniqueConstraint("product_id", "name", name="uq_variation_product_name"),
        Index("ix_variation_product_position", "product_id", "position"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    product_id: uuid.UUID = Field(foreign_key="product.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    position: int = Field(default=0)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class VariationOption(SQLModel, table=True):
    """One value of a variation, with its modifiers for the child products built from it."""

    __tablename__ = "variation_option"
    __table_args__ = (
        UniqueConstraint("variation_id", "name", name="uq_variation_option_name"),
        Index("ix_variation_option_variation_position", "variation_id", "position"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    variation_id: uuid.UUID = Field(foreign_key="variation.id", ondelete="CASCADE")
    name: str = Field(max_length=100)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    price_change: int = Field(default=0, description="Minor units of the store currency.")
    sku_suffix: str = Field(max_length=60)
    slug_suffix: str = Field(max_length=100)
    position: int = Field(default=0)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class FieldDefinition(SQLModel, table=True):
    """A custom field (Moltin "flow" field) that products, orders or customers may carry."""

    __tablename__ = "field_definition"
    __table_args__ = (UniqueConstraint("entity", "slug", name="uq_field_definition_entity_slug"),)

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    entity: str = Field(max_length=20)  # PRODUCT | ORDER | CUSTOMER
    slug: str = Field(max_length=64)
    name: str = Field(max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    type: str = Field(max_length=10)  # STRING | INTEGER | FLOAT | BOOLEAN | DATE | CHOICE
    required: bool = Field(default=False)
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

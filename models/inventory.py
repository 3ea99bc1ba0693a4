"""The stock ledger: every change of a product's stock, by hand or by an order."""

import uuid
from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Column, Field, SQLModel

from models.base import UTCDateTime, new_id, utcnow


class StockTransaction(SQLModel, table=True):
    __tablename__ = "stock_transaction"
    __table_args__ = (
        Index("ix_stock_transaction_product_created", "product_id", "created_at", "id"),
    )

    id: uuid.UUID = Field(default_factory=new_id, primary_key=True)
    product_id: uuid.UUID = Field(foreign_key="product.id", ondelete="CASCADE")
    action: str = Field(max_length=12)  # INCREMENT | DECREMENT | ALLOCATE | DEALLOCATE
    quantity: int
    order_id: uuid.UUID | None = Field(default=None, index=True)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )

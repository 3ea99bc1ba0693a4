"""Order and checkout object types; Node types also say how `node(id:)` fetches them."""

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from domain import orders as domain
from domain.pricing import CurrencySpec, Money, PriceBreakdown
from models.orders import Order as OrderRow
from models.orders import OrderEvent as OrderEventRow
from models.orders import OrderItem as OrderItemRow
from resolvers import catalog as resolve_catalog
from resolvers import orders as resolve
from resolvers import promotions as resolve_promotions
from schema.base import (
    Connection,
    DisplayPrice,
    Node,
    SortDirection,
    StrawberryInfo,
    described,
    global_id,
    page_request,
)
from schema.base import Money as MoneyType
from schema.catalog.types import Product
from schema.core.types import Address
from schema.orders.enums import OrderPaymentStatus, OrderShippingStatus, OrderStatus
from schema.orders.inputs import OrderFilter, OrderSort
from schema.payments import types as payment_types
from schema.promotions.types import OrderDiscount


def _price(without_tax: int, tax: int, spec: CurrencySpec) -> DisplayPrice:
    return DisplayPrice.of(PriceBreakdown(Money(without_tax, spec), Money(tax, spec)))


def _money(amount: int, spec: CurrencySpec) -> MoneyType:
    return MoneyType.of(Money(amount, spec))


PERSONAL = (
    "Null for a caller that may not read the order (a storefront without the buyer's "
    "customer token, e.g. in orderPay's or cartCheckout's payload)."
)


@strawberry.type(description="Who placed the order, as copied onto it.")
class OrderCustomer:
    id: strawberry.ID | None = strawberry.field(
        description="The registered customer's id; null for a guest checkout."
    )
    name: str = strawberry.field(description="Name given at checkout (or the account's).")
    email: str = strawberry.field(description="Email given at checkout (or the account's).")


@strawberry.type(
    description="A bought line, copied at checkout: later catalogue changes never alter it."
)
class OrderItem(Node):
    sku: str = strawberry.field(description="SKU at the time of the order.")
    name: str = strawberry.field(description="Name at the time of the order.")
    quantity: int = strawberry.field(description="Units bought.")
    tax_rate: Decimal = strawberry.field(description="Tax percent applied to the line.")
    unit_price: DisplayPrice = strawberry.field(description="One unit, in the order currency.")
    line_price: DisplayPrice = strawberry.field(
        description="The whole line, in the order currency (tax rounded once per line)."
    )
    discount: DisplayPrice = strawberry.field(
        description="The line's part of the order's discounts: without tax, and the tax it "
        "takes off (linePrice minus discount is what the line cost)."
    )
    product_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field(
        description="The catalogue product now, if it still exists and the caller may see it; "
        "null for custom lines."
    )
    async def product(self, info: StrawberryInfo) -> Product | None:
        if self.product_id is None:
            return None
        row = await resolve_catalog.product(info.context, self.product_id)
        return Product.of(row) if row else None

    @classmethod
    def of(cls, row: OrderItemRow, spec: CurrencySpec) -> "OrderItem":
        return cls(
            id=global_id("OrderItem", row.id),
            sku=row.sku,
            name=row.name,
            quantity=row.quantity,
            tax_rate=row.tax_rate,
            unit_price=_price(row.unit_price, row.unit_tax, spec),
            line_price=_price(row.line_price, row.line_tax, spec),
            discount=_price(row.discount, row.discount_tax, spec),
            product_id=row.product_id,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "OrderItem | None":
        """What `node(id:)` answers for this type's ids."""
        found = await resolve.visible_order_item(info.context, pk)
        if found is None:
            return None
        item, order = found
        return cls.of(item, await resolve.currency_of(info.context, order))


@strawberry.type(description="The shipping method chosen at checkout and the price charged.")
class OrderShippingMethod:
    id: strawberry.ID | None = strawberry.field(
        description="The ShippingMethod's id (null if it has since been deleted)."
    )
    name: str = strawberry.field(description="Its name at the time of the order.")
    carrier: str | None = strawberry.field(description="Its carrier at the time of the order.")
    price: DisplayPrice = strawberry.field(description="What was charged, in the order currency.")


@strawberry.type(description="The order's amounts, in the order currency.")
class OrderTotals:
    subtotal: MoneyType = strawberry.field(description="Sum of the lines, without tax.")
    discount: MoneyType = strawberry.field(
        description="What promotions took off the lines, without tax (see Order.discounts)."
    )
    shipping: MoneyType = strawberry.field(
        description="Shipping, without tax (0 with a FREE_SHIPPING promotion)."
    )
    tax: MoneyType = strawberry.field(
        description="Tax of every line (after its discount) and of shipping."
    )
    total: MoneyType = strawberry.field(
        description="subtotal - discount + shipping + tax: what is paid."
    )


@strawberry.type(description="One step of an order's history.")
class OrderEvent:
    at: datetime = strawberry.field(description="When it happened.")
    type: str = strawberry.field(
        description="What happened: created, updated, authorized, paid, captured, "
        "authorization_voided, partially_refunded, refunded, fulfilled or cancelled."
    )
    message: str = strawberry.field(description="A human-readable account of it.")

    @classmethod
    def of(cls, row: OrderEventRow) -> "OrderEvent":
        return cls(at=row.at, type=row.type, message=row.message)


@strawberry.type(
    description="An order. Every amount is in the order's currency (the one the buyer saw at "
    "checkout) and was copied then; only the state, the addresses and the custom fields "
    "change afterwards, and every change is in `events`."
)
class Order(Node):
    number: int = strawberry.field(
        description="Human-friendly number, sequential per store from 1001."
    )
    status: OrderStatus = strawberry.field(description="INCOMPLETE, COMPLETE or CANCELLED.")
    payment: OrderPaymentStatus = strawberry.field(
        description="UNPAID, AUTHORIZED, PAID, PARTIALLY_REFUNDED or REFUNDED."
    )
    shipping: OrderShippingStatus = strawberry.field(description="UNFULFILLED or FULFILLED.")
    currency: str = strawberry.field(description="ISO code of the order's currency.")
    exchange_rate: Decimal = strawberry.field(
        description="Units of the order currency per store-currency unit when it was placed."
    )
    created_at: datetime = strawberry.field(description="When the order was placed.")
    updated_at: datetime = strawberry.field(description="When the order last changed.")
    reserved_until: datetime | None = strawberry.field(
        description="Until when the order holds its stock-managed items (reservation at "
        "checkout); null when it holds nothing that way: reservation is off, the order has "
        "been paid (the payment took the units over), or the time passed and the units were "
        "released."
    )
    row: strawberry.Private[OrderRow]

    # Personal data follows the role table (API.md sections 2 and 8): whoever may not read the
    # order (e.g. a storefront paying or checking out by id) gets null for these, in every
    # payload that carries an order.

    @strawberry.field(description=f"Who placed the order. {PERSONAL}")
    def customer(self, info: StrawberryInfo) -> OrderCustomer | None:
        if not resolve.may_see(info.context, self.row):
            return None
        row = self.row
        return OrderCustomer(
            id=global_id("Customer", row.customer_id) if row.customer_id else None,
            name=row.customer_name,
            email=row.customer_email,
        )

    @strawberry.field(description=f"The billing address. {PERSONAL}")
    def billing_address(self, info: StrawberryInfo) -> Address | None:
        if not resolve.may_see(info.context, self.row):
            return None
        return Address.of(self.row.billing_address)

    @strawberry.field(
        description="Where the goods go (the billing address unless another was given). " + PERSONAL
    )
    def shipping_address(self, info: StrawberryInfo) -> Address | None:
        if not resolve.may_see(info.context, self.row):
            return None
        return Address.of(self.row.shipping_address or self.row.billing_address)

    @strawberry.field(description=f"Values of the ORDER custom fields. {PERSONAL}")
    def custom_fields(self, info: StrawberryInfo) -> JSON | None:
        return self.row.custom_fields if resolve.may_see(info.context, self.row) else None

    @strawberry.field(description="The bought lines, in cart order.")
    async def items(self, info: StrawberryInfo) -> list[OrderItem]:
        spec = await resolve.currency_of(info.context, self.row)
        return [OrderItem.of(r, spec) for r in await resolve.items_of(info.context, self.row.id)]

    @strawberry.field(description="The shipping method and its price; null if none was needed.")
    async def shipping_method(self, info: StrawberryInfo) -> OrderShippingMethod | None:
        row = self.row
        if row.shipping_method_name is None:
            return None
        spec = await resolve.currency_of(info.context, row)
        method_id = row.shipping_method_id
        return OrderShippingMethod(
            id=global_id("ShippingMethod", method_id) if method_id else None,
            name=row.shipping_method_name,
            carrier=row.shipping_method_carrier,
            price=_price(row.shipping_price, row.shipping_tax, spec),
        )

    @strawberry.field(description="Subtotal, shipping, tax and total.")
    async def totals(self, info: StrawberryInfo) -> OrderTotals:
        row = self.row
        spec = await resolve.currency_of(info.context, row)
        return OrderTotals(
            subtotal=_money(row.subtotal, spec),
            discount=_money(row.discount, spec),
            shipping=_money(row.shipping_price, spec),
            tax=_money(row.tax, spec),
            total=_money(row.total, spec),
        )

    @strawberry.field(
        description="The promotions the order got, copied at checkout (later changes to the "
        "promotions never alter them)."
    )
    async def discounts(self, info: StrawberryInfo) -> list[OrderDiscount]:
        spec = await resolve.currency_of(info.context, self.row)
        rows = await resolve_promotions.order_discounts(info.context, self.row.id)
        return [OrderDiscount.of(r, spec) for r in rows]

    @strawberry.field(description=f"The order's history, oldest first. {PERSONAL}")
    async def events(self, info: StrawberryInfo) -> list[OrderEvent] | None:
        if not resolve.may_see(info.context, self.row):
            return None
        return [OrderEvent.of(r) for r in await resolve.events_of(info.context, self.row.id)]

    @strawberry.field(
        description="Payment transactions (payments, captures, refunds, cancellations, and "
        "declined attempts), oldest first."
    )
    async def transactions(
        self, info: StrawberryInfo
    ) -> list[Annotated["Transaction", strawberry.lazy("schema.payments.types")]]:  # noqa: F821
        return await payment_types.order_transactions(info, self.row.id)

    @classmethod
    def of(cls, row: OrderRow) -> "Order":
        return cls(
            id=global_id("Order", row.id),
            number=row.number,
            status=domain.OrderStatus(row.status),
            payment=domain.PaymentStatus(row.payment),
            shipping=domain.ShippingStatus(row.shipping),
            currency=row.currency,
            exchange_rate=row.exchange_rate,
            created_at=row.created_at,
            updated_at=row.updated_at,
            reserved_until=row.reserved_until,
            row=row,
        )

    @classmethod
    async def resolve_node(cls, info: StrawberryInfo, pk: uuid.UUID) -> "Order | None":
        """What `node(id:)` answers for this type's ids."""
        row = await resolve.visible_order(info.context, pk)
        return cls.of(row) if row else None


@strawberry.type(description="A page of orders.")
class OrderConnection(Connection[Order]):
    pass


async def order_connection(
    info: StrawberryInfo,
    pages: tuple[int | None, str | None, int | None, str | None],
    filter: OrderFilter | None,
    sort_by: OrderSort | None,
    customer_id: uuid.UUID | None = None,
) -> OrderConnection:
    """A page of orders (only `customer_id`'s when given)."""
    request = page_request(*pages)
    sort = sort_by or OrderSort()
    page = await resolve.order_page(
        info.context,
        filter.to_domain() if filter else domain.OrderFilter(),
        sort.field,
        sort.direction is SortDirection.DESC,
        request,
        customer_id,
    )
    return OrderConnection.of(page, Order.of)  # type: ignore[return-value]


OrderId = described(strawberry.ID, "The order's global id.")

"""Checkout and orders: types, queries and mutations (API.md section 7)."""

import uuid
from collections.abc import AsyncGenerator
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from domain import orders as domain
from domain.carts import MAX_LINE_QUANTITY
from domain.pricing import CurrencySpec, Money, PriceBreakdown
from models.orders import Order as OrderRow
from models.orders import OrderEvent as OrderEventRow
from models.orders import OrderItem as OrderItemRow
from resolvers import catalog as resolve_catalog
from resolvers import orders as resolve
from schema import payments as payment_types
from schema.base import (
    AfterArg,
    BeforeArg,
    Connection,
    DisplayPrice,
    FirstArg,
    IsAdmin,
    IsAdminOrCustomer,
    LastArg,
    Node,
    SortDirection,
    StrawberryInfo,
    UserError,
    describe_values,
    described,
    global_id,
    input_data,
    mutate,
    mutate_row,
    node_type,
    page_request,
)
from schema.base import Money as MoneyType
from schema.catalog import Product
from schema.customers import Address, AddressInput

OrderStatus = strawberry.enum(
    domain.OrderStatus,
    name="OrderStatus",
    description="INCOMPLETE (new), COMPLETE (payment reached PAID) or CANCELLED (final).",
)
OrderPaymentStatus = strawberry.enum(
    domain.PaymentStatus, name="OrderPaymentStatus", description="Where the order's money is."
)
OrderShippingStatus = strawberry.enum(
    domain.ShippingStatus, name="OrderShippingStatus", description="Whether the goods went out."
)
OrderSortField = strawberry.enum(
    domain.OrderSortField, name="OrderSortField", description="What orders are sorted by."
)
describe_values(
    OrderStatus,
    {
        "INCOMPLETE": "New: not yet paid in full.",
        "COMPLETE": "Its payment reached PAID.",
        "CANCELLED": "Cancelled (final); cancelling never refunds by itself.",
    },
)
describe_values(
    OrderPaymentStatus,
    {
        "UNPAID": "Nothing paid or authorized.",
        "AUTHORIZED": "Authorized (or promised on delivery through `manual`), not yet captured.",
        "PAID": "Captured or purchased in full.",
        "PARTIALLY_REFUNDED": "Part of the captured money was refunded.",
        "REFUNDED": "All the captured money was refunded.",
    },
)
describe_values(
    OrderShippingStatus,
    {"UNFULFILLED": "Not shipped yet.", "FULFILLED": "Shipped (orderFulfill)."},
)
describe_values(
    OrderSortField,
    {
        "NUMBER": "The order number.",
        "CREATED_AT": "When it was placed.",
        "UPDATED_AT": "When it last changed.",
        "TOTAL": "Its total, in the order's own currency.",
    },
)


def _price(without_tax: int, tax: int, spec: CurrencySpec) -> DisplayPrice:
    return DisplayPrice.of(PriceBreakdown(Money(without_tax, spec), Money(tax, spec)))


def _money(amount: int, spec: CurrencySpec) -> MoneyType:
    return MoneyType.of(Money(amount, spec))


# --- types -----------------------------------------------------------------------------


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
            product_id=row.product_id,
        )


@node_type("OrderItem")
async def _order_item_node(info: StrawberryInfo, pk: uuid.UUID) -> OrderItem | None:
    found = await resolve.visible_order_item(info.context, pk)
    if found is None:
        return None
    item, order = found
    return OrderItem.of(item, await resolve.currency_of(info.context, order))


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
    shipping: MoneyType = strawberry.field(description="Shipping, without tax.")
    tax: MoneyType = strawberry.field(description="Tax of every line and of shipping.")
    total: MoneyType = strawberry.field(description="subtotal + shipping + tax: what is paid.")


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
    customer: OrderCustomer = strawberry.field(description="Who placed the order.")
    billing_address: Address = strawberry.field(description="The billing address.")
    shipping_address: Address = strawberry.field(
        description="Where the goods go (the billing address unless another was given)."
    )
    currency: str = strawberry.field(description="ISO code of the order's currency.")
    exchange_rate: Decimal = strawberry.field(
        description="Units of the order currency per store-currency unit when it was placed."
    )
    custom_fields: JSON = strawberry.field(description="Values of the ORDER custom fields.")
    created_at: datetime = strawberry.field(description="When the order was placed.")
    updated_at: datetime = strawberry.field(description="When the order last changed.")
    row: strawberry.Private[OrderRow]

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
            shipping=_money(row.shipping_price, spec),
            tax=_money(row.tax, spec),
            total=_money(row.total, spec),
        )

    @strawberry.field(description="The order's history, oldest first.")
    async def events(self, info: StrawberryInfo) -> list[OrderEvent]:
        return [OrderEvent.of(r) for r in await resolve.events_of(info.context, self.row.id)]

    @strawberry.field(
        description="Payment transactions (payments, captures, refunds, cancellations, and "
        "declined attempts), oldest first."
    )
    async def transactions(
        self, info: StrawberryInfo
    ) -> list[Annotated["Transaction", strawberry.lazy("schema.payments")]]:  # noqa: F821
        return await payment_types.order_transactions(info, self.row.id)

    @classmethod
    def of(cls, row: OrderRow) -> "Order":
        return cls(
            id=global_id("Order", row.id),
            number=row.number,
            status=domain.OrderStatus(row.status),
            payment=domain.PaymentStatus(row.payment),
            shipping=domain.ShippingStatus(row.shipping),
            customer=OrderCustomer(
                id=global_id("Customer", row.customer_id) if row.customer_id else None,
                name=row.customer_name,
                email=row.customer_email,
            ),
            billing_address=Address.of(row.billing_address),
            shipping_address=Address.of(row.shipping_address or row.billing_address),
            currency=row.currency,
            exchange_rate=row.exchange_rate,
            custom_fields=row.custom_fields,
            created_at=row.created_at,
            updated_at=row.updated_at,
            row=row,
        )


@node_type("Order")
async def _order_node(info: StrawberryInfo, pk: uuid.UUID) -> Order | None:
    row = await resolve.visible_order(info.context, pk)
    return Order.of(row) if row else None


@strawberry.type(description="A page of orders.")
class OrderConnection(Connection[Order]):
    pass


@strawberry.type(description="The result of an order mutation.")
class OrderPayload:
    order: Order | None = strawberry.field(
        default=None, description="The order after the change (null when it failed)."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


@strawberry.type(description="The result of a checkout.")
class CheckoutPayload:
    order: Order | None = strawberry.field(
        default=None, description="The new order (null when checkout failed: the cart is kept)."
    )
    errors: list[UserError] = strawberry.field(description="Why it failed (empty on success).")


# --- inputs ----------------------------------------------------------------------------


@strawberry.input(description="A guest buyer: copied onto the order, never linked to an account.")
class OrderCustomerInput:
    email: str | None = strawberry.field(
        default=strawberry.UNSET, description="Required: where order news goes."
    )
    name: str | None = strawberry.field(
        default=strawberry.UNSET, description="Required: the buyer's name."
    )


@strawberry.input(
    description="Checkout details. Give exactly one of customerId (a registered customer: a "
    "storefront may only name the signed-in one) and customer (a guest)."
)
class CheckoutInput:
    customer_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The registered customer placing the order."
    )
    customer: OrderCustomerInput | None = strawberry.field(
        default=strawberry.UNSET,
        description="A guest's email and name (a signed-in customer's order is still theirs).",
    )
    billing_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Required."
    )
    shipping_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to the billing address."
    )
    shipping_method_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET,
        description="One of the cart's shippingMethods; required when the cart requiresShipping.",
    )
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Values of the ORDER custom fields, by slug."
    )


@strawberry.input(
    description="An item of orderCreate: either a catalogue product {productId, quantity} or "
    "a custom line {sku, name, price, quantity, taxBandId}."
)
class OrderItemInput:
    product_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A LIVE product (same stock rules as checkout)."
    )
    quantity: int | None = strawberry.field(
        default=strawberry.UNSET, description=f"Required: units, 1 to {MAX_LINE_QUANTITY}."
    )
    sku: str | None = strawberry.field(default=strawberry.UNSET, description="Custom line: SKU.")
    name: str | None = strawberry.field(default=strawberry.UNSET, description="Custom line: name.")
    price: int | None = strawberry.field(
        default=strawberry.UNSET,
        description="Custom line: unit price without tax, store-currency minor units.",
    )
    tax_band_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Custom line: its tax band (none: untaxed)."
    )


@strawberry.input(description="An order made by an admin without a cart (rules of checkout).")
class OrderCreateInput:
    customer_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="The registered customer it is for."
    )
    customer: OrderCustomerInput | None = strawberry.field(
        default=strawberry.UNSET, description="Or a guest's email and name."
    )
    items: list[OrderItemInput] = strawberry.field(description="At least one item.")
    billing_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Required."
    )
    shipping_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="Defaults to the billing address."
    )
    shipping_method_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="Required when an item needs shipping."
    )
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Values of the ORDER custom fields, by slug."
    )


@strawberry.input(
    description="Changes to an unfulfilled, uncancelled order; omitted fields stay as they are."
)
class OrderUpdateInput:
    shipping_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="A new shipping address (whole)."
    )
    billing_address: AddressInput | None = strawberry.field(
        default=strawberry.UNSET, description="A new billing address (whole)."
    )
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET,
        description="Custom-field values merged into the order's; a null value removes one.",
    )


@strawberry.input(description="Which orders to list; every field given must match.")
class OrderFilter:
    status: OrderStatus | None = strawberry.field(default=None, description="Only this status.")
    payment: OrderPaymentStatus | None = strawberry.field(
        default=None, description="Only this payment status."
    )
    shipping: OrderShippingStatus | None = strawberry.field(
        default=None, description="Only this shipping status."
    )
    customer_email: str | None = strawberry.field(
        default=None, description="The buyer's email, exactly (any letter case)."
    )
    created_after: datetime | None = strawberry.field(
        default=None, description="Placed at or after this instant."
    )
    created_before: datetime | None = strawberry.field(
        default=None, description="Placed before this instant."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Part of the buyer's email or name or of an item's SKU or name, or the "
        "order number (e.g. 1001 or #1001).",
    )

    def to_domain(self) -> domain.OrderFilter:
        return domain.OrderFilter(
            status=self.status,
            payment=self.payment,
            shipping=self.shipping,
            customer_email=self.customer_email,
            created_after=self.created_after,
            created_before=self.created_before,
            search=self.search,
        )


@strawberry.input(description="How orders are sorted (the id breaks ties).")
class OrderSort:
    field: OrderSortField = strawberry.field(
        default=domain.OrderSortField.CREATED_AT, description="CREATED_AT by default."
    )
    direction: SortDirection = strawberry.field(
        default=SortDirection.DESC, description="DESC (newest, highest first) by default."
    )


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


# --- arguments -------------------------------------------------------------------------

OrderId = described(strawberry.ID, "The order's global id.")
FilterArg = described(OrderFilter | None, "Which orders (every given condition holds).")
SortArg = described(OrderSort | None, "Sort order (default CREATED_AT DESC).")
ReferenceArg = described(str, "The cart's reference (1 to 64 of A-Z, a-z, 0-9, _ and -).")
CheckoutArg = described(CheckoutInput, "The buyer, the addresses and the shipping method.")
OrderCreateArg = described(OrderCreateInput, "The order to make.")
OrderUpdateArg = described(OrderUpdateInput, "What to change.")


# --- root fields -----------------------------------------------------------------------


@strawberry.type
class OrderQuery:
    @strawberry.field(
        permission_classes=[IsAdminOrCustomer],
        description="One order: admins see any, a signed-in customer only their own (null "
        "for anyone else's).",
    )
    async def order(self, info: StrawberryInfo, id: OrderId) -> Order | None:
        row = await resolve.order_by_global_id(info.context, id)
        return Order.of(row) if row else None

    @strawberry.field(permission_classes=[IsAdmin], description="Every order (admin only).")
    async def orders(
        self,
        info: StrawberryInfo,
        first: FirstArg = None,
        after: AfterArg = None,
        last: LastArg = None,
        before: BeforeArg = None,
        filter: FilterArg = None,
        sort_by: SortArg = None,
    ) -> OrderConnection | None:
        return await order_connection(info, (first, after, last, before), filter, sort_by)


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Turn a cart into an order in one transaction: checks the cart is not "
        "empty, every product is LIVE and in stock (nothing is reserved), the shipping method, "
        "the addresses and custom fields. On success the cart is deleted; on any error nothing "
        "changes. The order is in the request currency (X-Currency)."
    )
    async def cart_checkout(
        self,
        info: StrawberryInfo,
        reference: ReferenceArg,
        input: CheckoutArg,
    ) -> CheckoutPayload:
        return await mutate_row(
            CheckoutPayload,
            "order",
            Order.of,
            lambda: resolve.checkout(info.context, reference, input_data(input)),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Create an order without a cart (admin only), with checkout's rules.",
    )
    async def order_create(
        self,
        info: StrawberryInfo,
        input: OrderCreateArg,
    ) -> OrderPayload | None:
        async def run() -> dict[str, object]:
            return {"order": Order.of(await resolve.create_order(info.context, input_data(input)))}

        return await mutate(OrderPayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Change the addresses or custom fields of an unfulfilled, uncancelled "
        "order (INVALID_TRANSITION otherwise).",
    )
    async def order_update(
        self,
        info: StrawberryInfo,
        id: OrderId,
        input: OrderUpdateArg,
    ) -> OrderPayload | None:
        return await mutate_row(
            OrderPayload,
            "order",
            Order.of,
            lambda: resolve.update_order(info.context, id, input_data(input)),
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Cancel an unfulfilled order and release its allocated stock. It never "
        "refunds: refund captured money through its transactions.",
    )
    async def order_cancel(self, info: StrawberryInfo, id: OrderId) -> OrderPayload | None:
        async def run() -> dict[str, object]:
            return {"order": Order.of(await resolve.cancel_order(info.context, id))}

        return await mutate(OrderPayload, run)

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Mark an order shipped: it must be unfulfilled, not cancelled, and PAID "
        "(or AUTHORIZED through the manual gateway, pay on delivery). Its stock is decremented.",
    )
    async def order_fulfill(self, info: StrawberryInfo, id: OrderId) -> OrderPayload | None:
        async def run() -> dict[str, object]:
            return {"order": Order.of(await resolve.fulfil_order(info.context, id))}

        return await mutate(OrderPayload, run)


@strawberry.type
class OrderSubscription:
    @strawberry.subscription(
        permission_classes=[IsAdminOrCustomer],
        description="The order now, then again each time it changes (status, payment, "
        "shipping, addresses, custom fields; its events and transactions with it), from any "
        "server process. Admins watch any order, a signed-in customer their own; the stream "
        "ends at once for an order the caller may not see, or when it is gone.",
    )
    async def order_updated(self, info: StrawberryInfo, id: OrderId) -> AsyncGenerator[Order, None]:
        async for row in resolve.watch_order(info.context, id):
            yield Order.of(row)


QUERIES: tuple[type, ...] = (OrderQuery,)
MUTATIONS: tuple[type, ...] = (OrderMutation,)
SUBSCRIPTIONS: tuple[type, ...] = (OrderSubscription,)

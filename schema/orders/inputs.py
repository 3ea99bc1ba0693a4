"""Order and checkout input types and argument annotations."""

from datetime import datetime

import strawberry
from strawberry.scalars import JSON

from domain import orders as domain
from domain.carts import MAX_LINE_QUANTITY
from schema.base import SortDirection, described
from schema.core.inputs import AddressInput
from schema.orders.enums import OrderPaymentStatus, OrderShippingStatus, OrderSortField, OrderStatus


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
    promotion_codes: list[str] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Promotion codes to apply (automatic promotions apply by themselves); one "
        "that does not fit fails the order with its PROMOTION_* error.",
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


FilterArg = described(OrderFilter | None, "Which orders (every given condition holds).")


SortArg = described(OrderSort | None, "Sort order (default CREATED_AT DESC).")


ReferenceArg = described(str, "The cart's reference (1 to 64 of A-Z, a-z, 0-9, _ and -).")


CheckoutArg = described(CheckoutInput, "The buyer, the addresses and the shipping method.")


OrderCreateArg = described(OrderCreateInput, "The order to make.")


OrderUpdateArg = described(OrderUpdateInput, "What to change.")

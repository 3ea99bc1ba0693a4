"""Order and checkout root mutation fields and their payload types."""

import strawberry

from resolvers import orders as resolve
from schema.base import IsAdmin, StrawberryInfo, UserError, input_data, mutate, row_result
from schema.orders.inputs import CheckoutArg, OrderCreateArg, OrderUpdateArg, ReferenceArg
from schema.orders.types import Order, OrderId


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


order_result = row_result(OrderPayload, "order", Order.of)


@strawberry.type
class OrderMutation:
    @strawberry.mutation(
        description="Turn a cart into an order in one transaction: checks the cart is not "
        "empty, every product is LIVE and in stock, the shipping method, the addresses and "
        "custom fields. Nothing is held, unless reservation is on: then every stock-managed "
        "line is allocated, all or nothing, until `reservedUntil`. On success the cart is "
        "deleted; on any error nothing changes. The order is in the request currency "
        "(X-Currency)."
    )
    async def cart_checkout(
        self, info: StrawberryInfo, reference: ReferenceArg, input: CheckoutArg
    ) -> CheckoutPayload:
        return await order_result(
            lambda: resolve.checkout(info.context, reference, input_data(input))
        )

    @strawberry.mutation(
        permission_classes=[IsAdmin],
        description="Create an order without a cart (admin only), with checkout's rules.",
    )
    async def order_create(
        self, info: StrawberryInfo, input: OrderCreateArg
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
        self, info: StrawberryInfo, id: OrderId, input: OrderUpdateArg
    ) -> OrderPayload | None:
        return await order_result(lambda: resolve.update_order(info.context, id, input_data(input)))

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

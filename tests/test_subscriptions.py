"""Subscriptions driven by committed changes (API.md section 13): `orderUpdated` and
`stockUpdated` over real WebSockets against real server processes, two of them sharing one
PostgreSQL database; the bus itself (domain/eventbus.py) against both databases."""

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from domain import catalog, eventbus, inventory
from domain.inventory import StockMove
from models.catalog import Product
from models.engine import Database, StatementCounter
from resolvers.ids import parse_id
from tests.acceptance_helpers import Shop
from tests.conftest import Api, LiveServer, Template, _plain_pg_dsn, running_server

RECEIVE_GUARD_SECONDS = 30
"""Only a guard against a hang: how soon a message arrives is measured in bench/, not here."""
STOCK_WATCH = """subscription($ids: [ID!]!) { stockUpdated(productIds: $ids) {
  product { id stockStatus } stock { total allocated } } }"""
ORDER_WATCH = "subscription($id: ID!) { orderUpdated(id: $id) { status payment shipping } }"
STOCK_CHANGE = """mutation($id: ID!, $action: StockAction!, $quantity: Int!) {
  stockTransactionCreate(productId: $id, input: {action: $action, quantity: $quantity}) {
    errors { code } } }"""


class Socket:
    """A graphql-transport-ws client connection (the `websockets` package)."""

    def __init__(self, ws: websockets.ClientConnection) -> None:
        self.ws = ws

    async def subscribe(self, op_id: str, query: str, variables: dict[str, Any]) -> None:
        payload = {"query": query, "variables": variables}
        await self.ws.send(json.dumps({"id": op_id, "type": "subscribe", "payload": payload}))

    async def receive(self) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(
            await asyncio.wait_for(self.ws.recv(), RECEIVE_GUARD_SECONDS)
        )
        return message

    async def data(self) -> Any:
        """The next `next` message's data (one field: the subscription's)."""
        message = await self.receive()
        assert message["type"] == "next", message
        assert "errors" not in message["payload"], message
        return next(iter(message["payload"]["data"].values()))

    async def change(self, before: Any) -> Any:
        """The next data that differs from `before`: an order watch may repeat a state (an
        announcement of a commit it had already read, a resync), never skip one."""
        data = await self.data()
        while data == before:
            data = await self.data()
        return data

    async def complete(self, op_id: str) -> None:
        await self.ws.send(json.dumps({"id": op_id, "type": "complete"}))


@asynccontextmanager
async def socket(server: LiveServer, token: str, **init: str) -> AsyncIterator[Socket]:
    url = server.base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"authorization": f"Bearer {token}", **init}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        yield Socket(ws)


@asynccontextmanager
async def api_on(server: LiveServer, template: Template) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=server.base, timeout=60) as http:
        yield Api(http, template)


async def change_stock(api: Api, product: str, action: str, quantity: int) -> None:
    variables = {"id": product, "action": action, "quantity": quantity}
    payload = (await api.admin(STOCK_CHANGE, variables))["stockTransactionCreate"]
    assert payload["errors"] == []


def admin_stock(product: str, status: str, total: int, allocated: int) -> dict[str, Any]:
    return {
        "product": {"id": product, "stockStatus": status},
        "stock": {"total": total, "allocated": allocated},
    }


def shopper_stock(product: str, status: str) -> dict[str, Any]:
    return {"product": {"id": product, "stockStatus": status}, "stock": None}


def pk(global_id: str) -> uuid.UUID:
    parsed = parse_id(global_id)
    assert parsed is not None
    return parsed[1]


# --- the bus, on both databases -----------------------------------------------------------


async def test_a_commit_announces_its_topics_and_a_rollback_nothing(db: Database) -> None:
    bus = eventbus.bus_of(db)
    first, second = eventbus.stock_topic(uuid.uuid4()), eventbus.stock_topic(uuid.uuid4())
    async with bus.subscribe([first, second]) as subscription:
        with pytest.raises(RuntimeError):
            async with db.transaction() as session:
                eventbus.publish(session, [first])
                raise RuntimeError("roll back")
        async with db.transaction() as session:
            eventbus.publish(session, [second])
        # had the rollback been announced, `first` would come with or before `second`
        assert await subscription.wait() == {second}
    assert bus.subscriber_count == 0


async def test_publishing_costs_one_statement_on_postgres_and_none_on_sqlite(
    db: Database, backend: str
) -> None:
    with StatementCounter() as counter:
        async with db.transaction() as session:
            eventbus.publish(session, [eventbus.order_topic(uuid.uuid4()) for _ in range(500)])
    assert counter.count == (1 if backend == "postgres" else 0)  # the pg_notify, at commit


async def test_many_changes_to_a_busy_subscriber_coalesce(db: Database) -> None:
    """A subscriber that does not look for a while finds one wake-up naming what changed: it
    holds no queue that could fill up or hold the publisher."""
    bus = eventbus.bus_of(db)
    topics = [eventbus.stock_topic(uuid.uuid4()) for _ in range(3)]
    async with bus.subscribe(topics) as busy, bus.subscribe(topics[:1]) as idle:
        for _ in range(50):
            async with db.transaction() as session:
                eventbus.publish(session, topics[:2])
        async with db.transaction() as session:
            eventbus.publish(session, topics[2:])
        seen: set[str] = set()
        while topics[2] not in seen:
            seen |= await busy.wait()
        assert seen == set(topics)
        assert await idle.wait() == {topics[0]}


async def test_subscribers_woken_by_one_change_share_one_read(db: Database) -> None:
    async with db.transaction() as session:
        made = await catalog.create_product(session, {"sku": "SHARED", "name": "S", "price": 1})
    bus, topic = eventbus.bus_of(db), eventbus.stock_topic(made.id)
    async with bus.subscribe([topic]) as one, bus.subscribe([topic]) as two:
        async with db.transaction() as session:
            await inventory.move_stock(session, made.id, StockMove.INCREMENT, 4)
        assert await one.wait() == await two.wait() == {topic}
        with StatementCounter() as counter:
            rows = await asyncio.gather(
                bus.fresh_rows(db, Product, [made.id], one.delivery),
                bus.fresh_rows(db, Product, [made.id], two.delivery),
            )
        assert counter.count == 1
        assert [r[0].stock_total for r in rows if r[0] is not None] == [4, 4]
        async with db.transaction() as session:  # a later change needs a read of its own
            await inventory.move_stock(session, made.id, StockMove.INCREMENT, 1)
        await one.wait()
        with StatementCounter() as counter:
            again = await bus.fresh_rows(db, Product, [made.id], one.delivery)
        assert counter.count == 1 and again[0] is not None and again[0].stock_total == 5


# --- one server process, both databases ---------------------------------------------------


@pytest.mark.slow
async def test_stock_updates_by_role(db_url: str, template: Template, db: Database) -> None:
    """Admins get the figures of every listed product; a storefront the status of LIVE ones
    only, never a figure: a DRAFT product's change reaches it not at all. An order paid and
    cancelled moves stock too."""
    async with running_server(db_url) as server, api_on(server, template) as api:
        shop = Shop(api)
        live = await shop.stocked("LIVE-1", 500, 10, requiresShipping=False)
        draft = await shop.stocked("DRAFT-1", 500, 3, status="DRAFT")
        async with (
            socket(server, template.admin_token) as admin,
            socket(server, template.storefront_token) as shopper,
        ):
            ids = {"ids": [live, draft, "not-an-id"]}
            await admin.subscribe("a", STOCK_WATCH, ids)
            await shopper.subscribe("s", STOCK_WATCH, ids)
            assert await admin.data() == admin_stock(live, "IN_STOCK", 10, 0)
            assert await admin.data() == admin_stock(draft, "LOW_STOCK", 3, 0)
            assert await shopper.data() == shopper_stock(live, "IN_STOCK")

            await change_stock(api, draft, "INCREMENT", 7)
            assert await admin.data() == admin_stock(draft, "IN_STOCK", 10, 0)
            await change_stock(api, live, "DECREMENT", 6)
            assert await admin.data() == admin_stock(live, "LOW_STOCK", 4, 0)
            assert await shopper.data() == shopper_stock(live, "LOW_STOCK")  # not the draft

            order = await shop.order("cart-1", [(live, 4)])
            assert (await shop.pay(order["id"]))["errors"] == []
            assert await admin.data() == admin_stock(live, "OUT_OF_STOCK", 4, 4)
            assert await shopper.data() == shopper_stock(live, "OUT_OF_STOCK")
            cancel = "mutation($id: ID!) { orderCancel(id: $id) { errors { code } } }"
            await api.admin(cancel, {"id": order["id"]})
            assert await admin.data() == admin_stock(live, "LOW_STOCK", 4, 0)
            assert await shopper.data() == shopper_stock(live, "LOW_STOCK")

            publish = "mutation($id: ID!) { productUpdate(id: $id, input: {status: LIVE}) { errors { code } } }"
            await api.admin(publish, {"id": draft})
            assert await admin.data() == admin_stock(draft, "IN_STOCK", 10, 0)
            assert await shopper.data() == shopper_stock(draft, "IN_STOCK")  # LIVE now


@pytest.mark.slow
async def test_customers_watch_their_own_orders_only(db_url: str, template: Template) -> None:
    async with running_server(db_url) as server, api_on(server, template) as api:
        shop = Shop(api)
        mug = await shop.product("MUG", 900, requiresShipping=False)
        token = await shop.register("ada@example.com", "Ada")
        mine = await shop.order("mine", [(mug, 1)], headers={"X-Customer-Token": token})
        theirs = await shop.order("theirs", [(mug, 1)])
        async with socket(server, template.storefront_token, customerToken=token) as customer:
            await customer.subscribe("theirs", ORDER_WATCH, {"id": theirs["id"]})
            assert await customer.receive() == {"id": "theirs", "type": "complete"}
            await customer.subscribe("mine", ORDER_WATCH, {"id": mine["id"]})
            unpaid = {"status": "INCOMPLETE", "payment": "UNPAID", "shipping": "UNFULFILLED"}
            assert await customer.data() == unpaid
            assert (await shop.pay(mine["id"]))["errors"] == []
            paid = await customer.change(unpaid)
            assert (paid["status"], paid["payment"]) == ("COMPLETE", "PAID")  # nothing to ship


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_subscriptions_per_token_are_limited(db_url: str, template: Template) -> None:
    env = {"STOCKROOM_MAX_SUBSCRIPTIONS_PER_TOKEN": "2"}
    async with running_server(db_url, **env) as server, api_on(server, template) as api:
        product = await Shop(api).stocked("CAP", 100, 5)
        ids = {"ids": [product]}
        async with (
            socket(server, template.admin_token) as one,
            socket(server, template.admin_token) as two,
            socket(server, template.storefront_token) as other_token,
        ):
            await one.subscribe("1", STOCK_WATCH, ids)
            await two.subscribe("2", STOCK_WATCH, ids)
            assert (await one.data())["stock"]["total"] == 5
            assert (await two.data())["stock"]["total"] == 5
            await two.subscribe("3", STOCK_WATCH, ids)
            refused = await two.receive()
            assert (refused["id"], refused["type"]) == ("3", "error")
            assert [e["extensions"]["code"] for e in refused["payload"]] == ["RATE_LIMITED"]
            await other_token.subscribe("4", STOCK_WATCH, ids)  # another token's own count
            assert (await other_token.data())["stock"] is None
            await two.subscribe("q", "{ currencies { code } }", {})  # queries are not counted
            assert (await two.data()) == [{"code": "USD"}]
            assert await two.receive() == {"id": "q", "type": "complete"}
            await one.complete("1")
            await one.subscribe("5", STOCK_WATCH, ids)  # a slot is free again
            assert (await one.data())["stock"]["total"] == 5


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_a_stock_watch_lists_1_to_100_products(db_url: str, template: Template) -> None:
    async with running_server(db_url) as server, socket(server, template.admin_token) as ws:
        for op_id, ids in (("none", []), ("many", ["x"] * 101)):
            await ws.subscribe(op_id, STOCK_WATCH, {"ids": ids})
            answer = await ws.receive()
            assert answer["type"] == "next", answer
            assert [e["extensions"]["code"] for e in answer["payload"]["errors"]] == ["INVALID"]
            assert await ws.receive() == {"id": op_id, "type": "complete"}


# --- two server processes on one PostgreSQL database --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres"])
async def test_every_subscriber_on_every_process_sees_every_change(
    db_url: str, template: Template, db: Database
) -> None:
    """Subscribers on two processes; changes made through either (and a rolled-back one made
    directly): each subscriber sees each committed change, in order, and nothing else."""
    async with (
        running_server(db_url) as one,
        running_server(db_url) as two,
        api_on(one, template) as via_one,
        api_on(two, template) as via_two,
    ):
        shop = Shop(via_one)
        product = await shop.stocked("TWO-PROC", 700, 15)
        other = await shop.stocked("OTHER", 700, 15)
        post = await shop.shipping_method("post", 300)
        order = await shop.order("two-proc", [(product, 2)], shippingMethodId=post)
        admin, shopper = template.admin_token, template.storefront_token
        async with (
            socket(one, admin) as admin_one,
            socket(two, admin) as admin_two,
            socket(one, shopper) as shopper_one,
            socket(two, shopper) as shopper_two,
            socket(one, admin) as order_one,
            socket(two, admin) as order_two,
        ):
            stock_watchers = [admin_one, admin_two, shopper_one, shopper_two]
            for ws in stock_watchers:
                await ws.subscribe("stock", STOCK_WATCH, {"ids": [product, other]})
            for ws in (order_one, order_two):
                await ws.subscribe("order", ORDER_WATCH, {"id": order["id"]})

            orders_seen: list[Any] = [None]

            async def expect(stock_now: dict[str, Any], order_now: Any = None) -> None:
                """The next message of each stock watch; the order watches' next change."""
                shopper_now = {**stock_now, "stock": None}
                wanted = [stock_now, stock_now, shopper_now, shopper_now]
                assert [await ws.data() for ws in stock_watchers] == wanted
                if order_now is not None:
                    before = orders_seen[-1]
                    seen = [await order_one.change(before), await order_two.change(before)]
                    assert seen == [order_now] * 2
                    orders_seen.append(order_now)

            unpaid = {"status": "INCOMPLETE", "payment": "UNPAID", "shipping": "UNFULFILLED"}
            await expect(admin_stock(product, "IN_STOCK", 15, 0), unpaid)
            await expect(admin_stock(other, "IN_STOCK", 15, 0))

            await change_stock(via_one, product, "INCREMENT", 5)
            await expect(admin_stock(product, "IN_STOCK", 20, 0))

            with pytest.raises(RuntimeError):  # a change rolled back: nobody hears of it
                async with db.transaction() as session:
                    await inventory.move_stock(session, pk(product), StockMove.INCREMENT, 1)
                    raise RuntimeError("roll back")
            await change_stock(via_two, other, "DECREMENT", 1)
            await expect(admin_stock(other, "IN_STOCK", 14, 0))

            assert (await Shop(via_two).pay(order["id"]))["errors"] == []
            paid = {"status": "COMPLETE", "payment": "PAID", "shipping": "UNFULFILLED"}
            await expect(admin_stock(product, "IN_STOCK", 20, 2), paid)

            fulfil = "mutation($id: ID!) { orderFulfill(id: $id) { errors { code } } }"
            await via_one.admin(fulfil, {"id": order["id"]})
            shipped = {**paid, "shipping": "FULFILLED"}
            await expect(admin_stock(product, "IN_STOCK", 18, 0), shipped)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgres"])
async def test_a_lost_listener_reconnects_and_subscribers_catch_up(
    db_url: str, template: Template
) -> None:
    """The listener's connection killed (as by a PostgreSQL restart): the process reconnects,
    and a change committed meanwhile still reaches its subscribers (they re-read)."""
    async with running_server(db_url) as server, api_on(server, template) as api:
        product = await Shop(api).stocked("RECONNECT", 100, 5)
        async with socket(server, template.admin_token) as ws:
            await ws.subscribe("s", STOCK_WATCH, {"ids": [product]})
            assert (await ws.data())["stock"]["total"] == 5
            dsn = _plain_pg_dsn(db_url)
            conn = await asyncpg.connect(dsn)
            try:
                killed = await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE application_name = $1 AND datname = current_database()",
                    eventbus.APPLICATION_NAME,
                )
                assert killed == 1  # one listener per process
                await change_stock(api, product, "INCREMENT", 1)
                seen = [(await ws.data())["stock"]["total"]]
                while seen[-1] != 6:  # a resync may repeat the state it re-read
                    seen.append((await ws.data())["stock"]["total"])
                assert set(seen) <= {5, 6}
                await change_stock(api, product, "INCREMENT", 1)
                while (await ws.data())["stock"]["total"] != 7:
                    pass
                listeners = await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = $1 AND datname = current_database()",
                    eventbus.APPLICATION_NAME,
                )
                assert listeners == 1
            finally:
                await conn.close()

"""Webhooks (API.md section 12): admin CRUD and roles, signed deliveries to a real local HTTP
receiver, retries, per-order ordering, FAILED and manual retry, claims, pruning, the backlog
metric. The worker's steps are driven here directly (fan_out, deliver_due); the background job
in real server processes is tests/test_webhooks_live.py's."""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from standardwebhooks.webhooks import WebhookVerificationError

from domain import delivery
from models.engine import Database
from models.events import Event
from models.settings import Settings
from models.webhooks import WebhookDelivery
from tests.conftest import Api
from tests.test_events import CANCEL, FULFIL
from tests.test_payments import new_order, new_product, pay
from tests.webhook_helpers import (
    CREATE,
    WEBHOOK_FIELDS,
    Receiver,
    create_webhook,
    deliveries,
    receiving,
)

FAST = delivery.Schedule(
    backoff_base=0.01,
    backoff_max=0.05,
    retry_window=timedelta(hours=1),
    lease=timedelta(seconds=30),
)
ERRORS = "errors { code field message }"
UPDATE = f"""mutation($id: ID!, $input: WebhookInput!) {{ webhookUpdate(id: $id, input: $input) {{
    webhook {{ {WEBHOOK_FIELDS} }} {ERRORS} }} }}"""
DELETE = f"""mutation($id: ID!) {{ webhookDelete(id: $id) {{ webhook {{ id }} {ERRORS} }} }}"""
ROTATE = f"""mutation($id: ID!) {{ webhookSecretRotate(id: $id) {{
    webhook {{ {WEBHOOK_FIELDS} }} {ERRORS} }} }}"""
RETRY = f"""mutation($id: ID!) {{ webhookDeliveryRetry(id: $id) {{
    webhookDelivery {{ id status attempts }} {ERRORS} }} }}"""
LIST = f"{{ webhooks(first: 10) {{ edges {{ node {{ {WEBHOOK_FIELDS} }} }} }} }}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with delivery.new_client() as http:
        yield http


@pytest.fixture
def receiver() -> Any:
    with receiving() as running:
        yield running


async def run_worker(
    db: Database,
    client: httpx.AsyncClient,
    done: Callable[[], bool],
    schedule: delivery.Schedule = FAST,
) -> None:
    """The worker's round (fan out, then deliver what is due) until `done()`; 30 s at most."""
    deadline = time.monotonic() + 30
    while not done():
        assert time.monotonic() < deadline, "the deliveries did not finish"
        await delivery.fan_out(db)
        if not await delivery.deliver_due(db, schedule, client):
            await asyncio.sleep(0.02)


async def run_until_quiet(db: Database, client: httpx.AsyncClient) -> None:
    """Rounds until one finds nothing to fan out and nothing due."""
    while await delivery.fan_out(db) or await delivery.deliver_due(db, FAST, client):
        pass


# --- admin CRUD and roles ---------------------------------------------------------------------


async def test_the_secret_shows_only_on_create_and_rotate(api: Api) -> None:
    made = await create_webhook(
        api, "https://erp.example.com/hooks", ["ORDER_PAID", "ORDER_CREATED"], description="ERP"
    )
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["events"] == ["ORDER_CREATED", "ORDER_PAID"] and made["enabled"] is True
    listed = (await api.admin(LIST))["webhooks"]["edges"]
    assert [(e["node"]["id"], e["node"]["secret"]) for e in listed] == [(made["id"], None)]
    changed = (
        await api.admin(
            UPDATE, {"id": made["id"], "input": {"enabled": False, "events": ["STOCK_OUT"]}}
        )
    )["webhookUpdate"]
    assert changed["errors"] == [] and changed["webhook"]["secret"] is None
    assert changed["webhook"]["events"] == ["STOCK_OUT"] and changed["webhook"]["enabled"] is False
    rotated = (await api.admin(ROTATE, {"id": made["id"]}))["webhookSecretRotate"]["webhook"]
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != made["secret"]
    assert (await api.admin(DELETE, {"id": made["id"]}))["webhookDelete"]["errors"] == []
    assert (await api.admin(LIST))["webhooks"]["edges"] == []


@pytest.mark.parametrize(
    ("payload", "code", "field"),
    [
        ({"url": "ftp://example.com/x", "events": ["ORDER_PAID"]}, "INVALID", "url"),
        ({"url": "not a url", "events": ["ORDER_PAID"]}, "INVALID", "url"),
        ({"url": "https://", "events": ["ORDER_PAID"]}, "INVALID", "url"),
        ({"events": ["ORDER_PAID"]}, "REQUIRED", "url"),
        ({"url": "https://example.com/x", "events": []}, "REQUIRED", "events"),
    ],
)
async def test_bad_endpoints_are_refused(
    api: Api, payload: dict[str, Any], code: str, field: str
) -> None:
    result = (await api.admin(CREATE, {"input": payload}))["webhookCreate"]
    assert result["webhook"] is None
    assert [(e["code"], e["field"]) for e in result["errors"]] == [(code, ["input", field])]
    assert (await api.admin(LIST))["webhooks"]["edges"] == []


async def test_only_admins_use_webhooks(api: Api) -> None:
    made = await create_webhook(api, "https://example.com/x", ["ORDER_PAID"])
    operations = [
        (CREATE, {"input": {"url": "https://example.com/y", "events": ["ORDER_PAID"]}}),
        (UPDATE, {"id": made["id"], "input": {"enabled": False}}),
        (DELETE, {"id": made["id"]}),
        (ROTATE, {"id": made["id"]}),
        (RETRY, {"id": made["id"]}),
        (LIST, {}),
        (
            "query($id: ID!) { webhookDeliveries(webhookId: $id) { totalCount } }",
            {"id": made["id"]},
        ),
    ]
    for document, variables in operations:
        body = await api.gql(document, variables, as_="storefront")
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], document
    node = await api.gql(
        "query($id: ID!) { node(id: $id) { id } }", {"id": made["id"]}, as_="storefront"
    )
    assert node["data"]["node"] is None
    still = (await api.admin(LIST))["webhooks"]["edges"]
    assert [(e["node"]["id"], e["node"]["enabled"]) for e in still] == [(made["id"], True)]


# --- deliveries ---------------------------------------------------------------------------------


async def test_deliveries_are_signed_and_carry_the_event(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    hook = await create_webhook(api, receiver.url, ["ORDER_CREATED", "ORDER_PAID", "STOCK_LOW"])
    product = await new_product(api, stock=7)
    order = await new_order(api, [(product, 2)])  # 7 -> 5 available once paid: stock.low
    await pay(api, order["id"])
    await run_worker(db, client, lambda: len(receiver.received) >= 3)
    await run_until_quiet(db, client)
    bodies = receiver.verified(hook["secret"])  # raises unless every signature verifies
    assert [(b["type"], b["sequence"]) for b in bodies if b["type"].startswith("order")] == [
        ("order.created", 1),
        ("order.paid", 2),
    ]
    created, paid = (b for b in bodies if b["type"].startswith("order"))
    assert created["data"]["id"] == order["id"] and paid["data"]["payment"] == "PAID"
    low = [b for b in bodies if b["type"] == "stock.low"]
    assert [b["data"]["stock"] for b in low] == [{"total": 7, "available": 5, "allocated": 2}]
    assert {b["type"] for b in bodies} == {"order.created", "order.paid", "stock.low"}
    first = receiver.received[0].headers
    assert first["webhook-id"] == receiver.bodies()[0]["id"]
    assert first["webhook-signature"].startswith("v1,")
    done = await deliveries(api, hook["id"])
    assert {(d["status"], d["attempts"], d["lastResponseStatus"]) for d in done} == {
        ("SUCCEEDED", 1, 200)
    }
    assert {d["event"]["id"] for d in done} == {b["id"] for b in bodies}


async def test_a_rotated_secret_signs_later_deliveries(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    hook = await create_webhook(api, receiver.url, ["ORDER_CREATED"])
    rotated = (await api.admin(ROTATE, {"id": hook["id"]}))["webhookSecretRotate"]["webhook"]
    await new_order(api, [(await new_product(api, stock=5), 1)])
    await run_worker(db, client, lambda: len(receiver.received) == 1)
    assert [b["type"] for b in receiver.verified(rotated["secret"])] == ["order.created"]
    with pytest.raises(WebhookVerificationError):
        receiver.verified(hook["secret"])


async def test_failures_are_retried_until_the_endpoint_answers(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    answers = iter([500, 503, 200])
    receiver.answer = lambda _: next(answers)
    hook = await create_webhook(api, receiver.url, ["ORDER_CREATED"])
    await new_order(api, [(await new_product(api, stock=5), 1)])
    await run_worker(db, client, lambda: len(receiver.received) == 3)
    await run_until_quiet(db, client)
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1  # one event, 3 tries
    [done] = await deliveries(api, hook["id"])
    assert (done["status"], done["attempts"], done["lastResponseStatus"]) == ("SUCCEEDED", 3, 200)
    assert done["lastError"] is None and done["nextAttemptAt"] is None


async def test_redirects_are_failures_not_followed(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.answer = lambda _: 307
    hook = await create_webhook(api, receiver.url, ["ORDER_CREATED"])
    await new_order(api, [(await new_product(api, stock=5), 1)])
    await run_worker(db, client, lambda: len(receiver.received) == 2)
    [pending] = await deliveries(api, hook["id"])
    assert pending["status"] == "PENDING" and pending["lastResponseStatus"] == 307
    assert pending["lastError"] == "HTTP 307" and pending["nextAttemptAt"] is not None


async def test_an_order_s_events_wait_for_its_earlier_one(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    product = await new_product(api, stock=20)
    held_back = await new_order(api, [(product, 1)])
    await create_webhook(api, receiver.url, ["ORDER_PAID", "ORDER_FULFILLED"])
    other = await new_order(api, [(product, 1)])
    failing = {"on": True}

    def answer(request: Any) -> int:
        body = request.message
        if body["data"]["id"] == held_back["id"] and failing["on"]:
            return 500
        return 200

    receiver.answer = answer
    await pay(api, held_back["id"])
    await api.admin(FULFIL, {"id": held_back["id"]})
    await pay(api, other["id"])
    await api.admin(FULFIL, {"id": other["id"]})
    # the other order goes through while held_back's paid event keeps failing
    await run_worker(
        db,
        client,
        lambda: (
            sum(1 for b in receiver.bodies() if b["data"]["id"] == held_back["id"]) >= 3
            and sum(1 for b in receiver.bodies() if b["data"]["id"] == other["id"]) == 2
        ),
    )
    sent = [(b["data"]["id"], b["type"]) for b in receiver.bodies()]
    assert (held_back["id"], "order.fulfilled") not in sent  # waits behind order.paid
    assert [t for o, t in sent if o == other["id"]] == ["order.paid", "order.fulfilled"]
    failing["on"] = False
    await run_worker(db, client, lambda: (held_back["id"], "order.fulfilled") in _sent(receiver))
    ours = [t for o, t in _sent(receiver) if o == held_back["id"]]
    assert ours[-2:] == ["order.paid", "order.fulfilled"]
    assert set(ours[:-1]) == {"order.paid"}  # the retries, then the later event once


def _sent(receiver: Receiver) -> list[tuple[str, str]]:
    return [(b["data"]["id"], b["type"]) for b in receiver.bodies()]


async def test_a_rolled_back_change_sends_nothing(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    await create_webhook(api, receiver.url, ["ORDER_FULFILLED", "ORDER_CANCELLED", "ORDER_PAID"])
    scarce = await new_product(api, stock=1)
    order = await new_order(api, [(scarce, 1)])
    other = await new_order(api, [(scarce, 1)])
    assert (await pay(api, order["id"]))["errors"] == []
    refused = await pay(api, other["id"])  # no stock left: rolled back
    assert [e["code"] for e in refused["errors"]] == ["INSUFFICIENT_STOCK"]
    fulfil = await api.admin(FULFIL, {"id": other["id"]})  # unpaid: refused
    assert fulfil["orderFulfill"]["errors"] == [{"code": "INVALID_TRANSITION"}]
    assert (await api.admin(CANCEL, {"id": other["id"]}))["orderCancel"]["errors"] == []
    await run_until_quiet(db, client)
    assert sorted(_sent(receiver)) == sorted(
        [(order["id"], "order.paid"), (other["id"], "order.cancelled")]
    )


async def test_a_delivery_is_failed_after_its_window_and_retried_by_hand(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    receiver.answer = lambda _: 500
    hook = await create_webhook(api, receiver.url, ["ORDER_CREATED"])
    await new_order(api, [(await new_product(api, stock=5), 1)])
    no_window = delivery.Schedule(0.01, 0.05, timedelta(0), timedelta(seconds=30))
    await run_worker(db, client, lambda: len(receiver.received) == 1, no_window)
    [failed] = await deliveries(api, hook["id"], "FAILED")
    assert (failed["attempts"], failed["lastResponseStatus"], failed["nextAttemptAt"]) == (
        1,
        500,
        None,
    )
    receiver.answer = lambda _: 204
    retried = (await api.admin(RETRY, {"id": failed["id"]}))["webhookDeliveryRetry"]
    assert retried["errors"] == [] and retried["webhookDelivery"]["status"] == "PENDING"
    await run_worker(db, client, lambda: len(receiver.received) == 2, no_window)
    await run_until_quiet(db, client)
    [done] = await deliveries(api, hook["id"])
    assert (done["status"], done["attempts"], done["lastResponseStatus"]) == ("SUCCEEDED", 2, 204)
    again = (await api.admin(RETRY, {"id": failed["id"]}))["webhookDeliveryRetry"]
    assert [e["code"] for e in again["errors"]] == ["INVALID_TRANSITION"]


async def test_concurrent_claims_never_share_a_delivery(
    api: Api, db: Database, settings: Any
) -> None:
    await create_webhook(api, "http://127.0.0.1:9/never-called", ["PRODUCT_CREATED"])
    for _ in range(12):
        await new_product(api, stock=None)
    await delivery.fan_out(db)
    others = [Database(settings.database_url) for _ in range(3)]
    try:
        claims = await asyncio.gather(*(delivery.claim(d, FAST) for d in [db, *others]))
    finally:
        for other in others:
            await other.dispose()
    ids = [c.id for batch in claims for c in batch]
    assert len(ids) == 12 and len(set(ids)) == 12


async def test_old_deliveries_and_events_are_pruned(
    api: Api, db: Database, receiver: Receiver, client: httpx.AsyncClient
) -> None:
    await create_webhook(api, receiver.url, ["ORDER_CREATED", "ORDER_PAID"])
    product = await new_product(api, stock=10)
    order = await new_order(api, [(product, 1)])
    await pay(api, order["id"])
    await run_worker(db, client, lambda: len(receiver.received) == 2)
    await run_until_quiet(db, client)
    assert await delivery.prune(db, timedelta(days=7)) == 0  # nothing that old
    later = delivery.utcnow() + timedelta(days=8)
    assert await delivery.prune(db, timedelta(days=7), now=later) == 2
    async with db.reader() as session:
        assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
        kept = (await session.execute(select(Event.object_kind, Event.type))).all()
    # each object keeps its latest event, so its sequence goes on from there (the product's
    # is the allocation's stock.changed)
    assert sorted(kept) == [("Order", "order.paid"), ("Product", "stock.changed")]


async def test_the_backlog_is_a_metric(api: Api, db: Database) -> None:
    await create_webhook(api, "http://127.0.0.1:9/never-called", ["PRODUCT_CREATED"])
    for _ in range(3):
        await new_product(api, stock=None)
    assert await delivery.backlog(db) == 3  # undispatched events
    await delivery.fan_out(db)
    assert await delivery.backlog(db) == 3  # PENDING deliveries now
    metrics = (await api.http.get("/metrics")).text
    assert "stockroom_webhook_backlog 3.0" in metrics


def test_the_first_three_tries_fall_within_a_minute_and_retries_last_a_day() -> None:
    schedule = delivery.Schedule.of(Settings())
    for _ in range(100):  # whatever the jitter
        assert schedule.backoff(1) + schedule.backoff(2) < 60
    waits, elapsed = 0, 0.0
    while elapsed < schedule.retry_window.total_seconds():
        waits += 1
        elapsed += schedule.backoff(waits)
    assert schedule.retry_window >= timedelta(days=1) and waits >= 20


async def test_events_no_webhook_can_ask_for_are_written_dispatched(api: Api, db: Database) -> None:
    product = await new_product(api, stock=10)
    order = await new_order(api, [(product, 1)])
    await pay(api, order["id"])  # the allocation's stock.changed, then order.paid
    async with db.reader() as session:
        rows = (await session.execute(select(Event.type, Event.dispatched_at))).all()
    undispatched = sorted(kind for kind, at in rows if at is None)
    assert undispatched == ["order.created", "order.paid", "product.created"]
    assert {kind for kind, at in rows if at is not None} == {"stock.changed"}
    assert await delivery.backlog(db) == 3


async def test_a_woken_worker_gathers_the_commits_of_its_wait_into_one_round(
    api: Api, db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds: list[int] = []
    started = asyncio.Event()
    fan_out = delivery.fan_out

    async def counted(database: Database) -> int:
        rounds.append(await fan_out(database))
        started.set()
        return rounds[-1]

    monkeypatch.setattr(delivery, "fan_out", counted)
    gathering = settings.model_copy(
        update={"webhook_gather_seconds": 1.5, "webhook_poll_interval_seconds": 60}
    )
    worker = asyncio.create_task(delivery.delivery_worker(db, gathering))
    try:
        await started.wait()  # the round at start finds nothing
        for _ in range(3):  # three commits, each waking the worker
            await new_product(api, stock=None)
        deadline = time.monotonic() + 30
        while await delivery.backlog(db):
            assert time.monotonic() < deadline, "the events were not fanned out"
            await asyncio.sleep(0.05)
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert rounds[:2] == [0, 3]

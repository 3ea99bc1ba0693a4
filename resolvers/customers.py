"""Customer resolvers: arguments in, domain call, rows out; and the customer DataLoaders.

Who may see what is decided here from the caller (`ctx.is_admin`, `ctx.customer_id`) and
passed to the domain as an owner: None for admins (every customer), else the signed-in one.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain import customers
from domain.errors import DomainError, ErrorCode
from domain.pagination import Page, PageRequest
from models.customers import Customer, CustomerAddress
from resolvers.context import Context


def _owner(ctx: Context) -> uuid.UUID | None:
    """None for admins (any customer's records); the signed-in customer otherwise. A guest
    owns nothing (the schema's permission classes stop guests first; this is the backstop)."""
    if ctx.is_admin:
        return None
    if ctx.customer_id is None:
        raise DomainError(ErrorCode.FORBIDDEN, "sign in as a customer first", None)
    return ctx.customer_id


def _customer_token(ctx: Context) -> str | None:
    headers = getattr(ctx.request, "headers", None)
    return headers.get("x-customer-token") if headers is not None else None


# --- loaders ---------------------------------------------------------------------------


async def customer_row(ctx: Context, pk: uuid.UUID) -> Customer | None:
    """Any customer by id, batched (no visibility check: for fields of visible records)."""
    return await ctx.load_by_ids(Customer).load(pk)


async def load_addresses(
    ctx: Context, customer_ids: Sequence[uuid.UUID]
) -> list[list[CustomerAddress]]:
    async with ctx.read() as session:
        return await customers.addresses_by_customer(session, customer_ids)


async def addresses_of(ctx: Context, customer_id: uuid.UUID) -> list[CustomerAddress]:
    return await ctx.loader(load_addresses).load(customer_id)


# --- reads -----------------------------------------------------------------------------


async def visible_customer(ctx: Context, pk: uuid.UUID) -> Customer | None:
    """A customer for an admin, or for that customer themselves; None for anyone else."""
    if ctx.is_admin or (ctx.customer_id is not None and ctx.customer_id == pk):
        return await customer_row(ctx, pk)
    return None


async def visible_address(ctx: Context, pk: uuid.UUID) -> CustomerAddress | None:
    if not ctx.is_admin and ctx.customer_id is None:
        return None
    async with ctx.read() as session:
        return await customers.visible_address(
            session, pk, ctx.customer_id if not ctx.is_admin else None
        )


async def customer_page(ctx: Context, search: str | None, request: PageRequest) -> Page[Customer]:
    async with ctx.read() as session:
        return await customers.customer_page(session, search, request)


# --- account ---------------------------------------------------------------------------


async def register(ctx: Context, data: dict[str, Any]) -> Customer:
    changes = await customers.prepare_customer(data, partial=False)
    async with ctx.write() as session:
        return await customers.create_customer(session, changes)


async def sign_in(ctx: Context, email: str, password: str) -> tuple[str, datetime, Customer]:
    """A customer token; after 10 failures for one email within a minute, RATE_LIMITED until
    the minute ends (every server process counts the same failures)."""
    key, limits = email.strip().lower(), ctx.failure_limits
    if limits is not None and (refusal := await limits.refusal("email", key)):
        raise DomainError(
            ErrorCode.RATE_LIMITED,
            f"too many failed sign-ins for this email: retry in {refusal.retry_after_seconds} s",
            ["email"],
        )
    async with ctx.read() as session:
        found = await customers.find_customer_by_email(session, email)
    try:
        customer = await customers.authenticate(found, password)
    except DomainError as error:
        if limits is not None and error.code is ErrorCode.INVALID_CREDENTIALS:
            await limits.failed("email", key)
        raise
    async with ctx.write() as session:
        token, expires_at = await customers.issue_token(
            session, customer.id, ctx.settings.customer_token_ttl_seconds
        )
    return token, expires_at, customer


async def sign_out(ctx: Context) -> bool:
    token = _customer_token(ctx)
    if not token:
        return False
    async with ctx.write() as session:
        return await customers.revoke_token(session, token)


async def update_customer(
    ctx: Context, requested: uuid.UUID | None, data: dict[str, Any]
) -> Customer:
    pk = customers.target_customer(requested, ctx.is_admin, ctx.customer_id, ["id"])
    if customers.needs_current_password(data, ctx.is_admin):
        async with ctx.read() as session:
            customer = await customers.get_customer(session, pk)
        if customer is None:
            raise DomainError(ErrorCode.NOT_FOUND, "no customer with that id", ["id"])
        await customers.check_current_password(customer, data)
    changes = await customers.prepare_customer(data, partial=True)
    async with ctx.write() as session:
        row = await customers.update_customer(session, pk, changes, ["id"])
        if "password" in data:
            await customers.revoke_other_tokens(session, pk, keep=_customer_token(ctx) or "")
    return row


# --- addresses -------------------------------------------------------------------------


async def create_address(
    ctx: Context, requested: uuid.UUID | None, data: dict[str, Any]
) -> CustomerAddress:
    owner = customers.target_customer(requested, ctx.is_admin, ctx.customer_id, ["customerId"])
    async with ctx.write() as session:
        return await customers.create_address(session, owner, data)


async def update_address(ctx: Context, pk: uuid.UUID, data: dict[str, Any]) -> CustomerAddress:
    return await ctx.written(customers.update_address, pk, _owner(ctx), data)


async def delete_address(ctx: Context, pk: uuid.UUID) -> CustomerAddress:
    async with ctx.write() as session:
        return await customers.delete_address(session, pk, _owner(ctx))

"""Which writes move which version stamp (models/versions.py), in the writing transaction.

Every session is watched: a flush that adds, changes or deletes a row of a tracked table, and
an ORM `insert()`/`update()`/`delete()` statement on one (stock allocation is a conditional
UPDATE of the product row), mark the stamp of that table's kind; just before the transaction
commits the marked stamps are bumped in it. So the stamps move exactly when the data commits,
and a process that cached data under an older stamp knows to drop it.

Kinds: `catalog` (products and their stock, categories, brands, collections, variations,
custom-field definitions), `currency`, `tax`, `promotion` (promotions, their links and use
counts), `shipping` (shipping methods), `gateway` (gateway settings), `fields` (custom-field
definitions again: what is kept of them alone is not dropped by every stock change, which
moves `catalog`). Another area makes its tables tracked with `track("table", "kind")` at
import time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import bindparam, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction

from models.versions import BUMPED, STAMPS_CHANNEL, VersionStamp

CATALOG, CURRENCY, TAX = "catalog", "currency", "tax"
PROMOTION, SHIPPING, GATEWAY = "promotion", "shipping", "gateway"
FIELDS = "fields"
TRACKED: dict[str, str] = {
    "product": CATALOG,
    "category": CATALOG,
    "brand": CATALOG,
    "collection": CATALOG,
    "product_category": CATALOG,
    "product_collection": CATALOG,
    "variation": CATALOG,
    "variation_option": CATALOG,
    "field_definition": CATALOG,
    "currency": CURRENCY,
    "tax_band": TAX,
    "promotion": PROMOTION,
    "promotion_product": PROMOTION,
    "promotion_category": PROMOTION,
    "shipping_method": SHIPPING,
    "gateway": GATEWAY,
}
"""Table name -> the stamp a write to it moves."""
ALSO_MOVES: dict[str, tuple[str, ...]] = {"field_definition": (FIELDS,)}
"""Table name -> the stamps a write to it moves beside its TRACKED one."""

_MARKED = "version_stamps_marked"
_suspended = [0]


@contextmanager
def suspended() -> Iterator[None]:
    """No stamp moves inside the block: for writes to a database migrated only to a revision
    before `version_stamp` existed (migration tests). Never for a serving database."""
    _suspended[0] += 1
    try:
        yield
    finally:
        _suspended[0] -= 1


def track(table: str, kind: str) -> None:
    """Make writes to `table` move the stamp `kind` (for areas that cache their own data)."""
    TRACKED[table] = kind


def _mark(session: Session, table: str | None) -> None:
    kind = TRACKED.get(table or "")
    if kind is not None:
        session.info.setdefault(_MARKED, set()).update((kind, *ALSO_MOVES.get(table or "", ())))


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    for row in (*session.new, *session.dirty, *session.deleted):
        _mark(session, getattr(type(row), "__tablename__", None))


@event.listens_for(Session, "do_orm_execute")
def _on_execute(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        _mark(state.session, getattr(table, "name", None))


@event.listens_for(Session, "before_commit")
def _bump_marked(session: Session) -> None:
    session.flush()  # rows still pending mark their stamps now
    kinds = session.info.pop(_MARKED, None)
    if kinds and not _suspended[0]:
        bump(session, sorted(kinds))  # sorted: concurrent writers lock the rows in one order


@event.listens_for(Session, "after_rollback")
def _forget_marked(session: Session) -> None:
    session.info.pop(_MARKED, None)
    session.info.pop(BUMPED, None)


def bump(session: Session, kinds: list[str]) -> None:
    """Move the stamps of `kinds` by one in the session's transaction (rows made on first use).
    On PostgreSQL the same statement notifies the new value (delivered at commit) and the
    values are noted for the writer's wait (models/versions.py, pushed stamps)."""
    dialect = session.get_bind().dialect.name
    if dialect != "postgresql":
        for kind in kinds:
            session.execute(_BUMPS[dialect], {"name": kind})
        return
    bumped = session.info.setdefault(BUMPED, {})
    for kind in kinds:
        bumped[kind] = session.execute(_PG_BUMP, {"name": kind}).scalar_one()


def _bump_statement(insert: Any) -> Any:
    """INSERT the stamp at 1, or add one to it: built once per dialect, on the table (not the
    ORM's bulk INSERT), run with the stamp's name bound."""
    table = VersionStamp.__table__  # type: ignore[attr-defined]
    stmt = insert(table).values(name=bindparam("name", type_=table.c.name.type), value=1)
    return stmt.on_conflict_do_update(index_elements=["name"], set_={"value": table.c.value + 1})


_BUMPS = {"postgresql": _bump_statement(pg_insert), "sqlite": _bump_statement(sqlite_insert)}
_PG_BUMP = text(
    "WITH bumped AS (INSERT INTO version_stamp (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = version_stamp.value + 1 RETURNING name, value) "
    f"SELECT value, pg_notify('{STAMPS_CHANNEL}', name || '=' || value) FROM bumped"
)

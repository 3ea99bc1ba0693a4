"""Opaque Relay global ids: base64url of "Type:uuid". The uuids are random, never sequential."""

import base64
import binascii
import uuid
from collections.abc import Sequence

from domain.errors import DomainError, ErrorCode


def parse_id(global_id: str) -> tuple[str, uuid.UUID] | None:
    """The (type name, primary key) of a global id, or None when it is not one of ours."""
    try:
        padded = global_id + "=" * (-len(global_id) % 4)
        type_name, _, hex_pk = base64.urlsafe_b64decode(padded).decode().partition(":")
        return type_name, uuid.UUID(hex=hex_pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def decode_id(global_id: str, type_name: str, field: Sequence[str] = ("id",)) -> uuid.UUID:
    """The primary key of a global id of `type_name`; a NOT_FOUND UserError otherwise."""
    parsed = parse_id(global_id)
    if parsed is None or parsed[0] != type_name:
        raise DomainError(ErrorCode.NOT_FOUND, f"no {type_name} has id {global_id!r}", field)
    return parsed[1]


def maybe_decode_id(global_id: str, type_name: str) -> uuid.UUID | None:
    parsed = parse_id(global_id)
    return parsed[1] if parsed is not None and parsed[0] == type_name else None


NO_ROW = uuid.UUID(int=0)
"""Stands for a global id that names no row of the wanted type (no row has the nil uuid): the
domain then reports it as NOT_FOUND together with every other problem of the input."""


def pk_or_no_row(global_id: str, type_name: str) -> uuid.UUID:
    """The primary key of a global id of `type_name`, else NO_ROW (for ids inside inputs, so the
    domain reports a wrong one with the input's other problems)."""
    return maybe_decode_id(global_id, type_name) or NO_ROW

"""Opaque Relay global ids: base64url of "Type:uuid" (decoding lives in resolvers/ids.py).

The domain encodes them too: event payloads (domain/events.py) carry the ids the API shows."""

import base64
import functools
import uuid


@functools.lru_cache(maxsize=65_536)  # a listing shows dozens per request, the same ones again
def encode_id(type_name: str, pk: uuid.UUID) -> str:
    raw = f"{type_name}:{pk.hex}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")

"""What the test card gateway answered, kept the way a real provider keeps its charges: out
of the shop's database, so that the shop can ask about a payment whose answer it lost (a
crash, or a database outage while settling) and never report an approved charge as declined.

One file per payment transaction (ids are random UUIDs, so one directory serves any number of
stores), written atomically before the gateway answers: a payment with no record was never
charged. Every server process on the machine shares the directory
(`STOCKROOM_CARD_GATEWAY_DIR`); processes on other machines cannot see it, and there the sweep
falls back to treating a lost answer as not charged, as for any gateway that cannot tell.
"""

import json
import os
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from models.settings import get_settings


@dataclass(frozen=True, slots=True)
class Answer:
    succeeded: bool
    reference: str
    error_message: str | None


def ledger_dir() -> Path:
    configured = get_settings().card_gateway_dir
    path = Path(configured) if configured else Path(tempfile.gettempdir()) / "stockroom-card"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _path(transaction_id: uuid.UUID) -> Path:
    return ledger_dir() / f"{transaction_id}.json"


def remember(transaction_id: uuid.UUID, answer: Answer) -> None:
    """Record the answer before it is given (write to a temporary file, then rename: a reader
    sees the whole record or none)."""
    target = _path(transaction_id)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=".pending-")
    with os.fdopen(fd, "w") as file:
        json.dump(
            {
                "succeeded": answer.succeeded,
                "reference": answer.reference,
                "error_message": answer.error_message,
            },
            file,
        )
    os.replace(temporary, target)


def recall(transaction_id: uuid.UUID) -> Answer | None:
    """The answer given for this payment, or None if the gateway never answered it."""
    try:
        record = json.loads(_path(transaction_id).read_text())
    except FileNotFoundError:
        return None
    return Answer(record["succeeded"], record["reference"], record["error_message"])

"""A real local HTTP receiver for webhook tests, and the webhook documents."""

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook as Verifier

from tests.conftest import Api

WEBHOOK_FIELDS = "id url events enabled description secret createdAt"
CREATE = f"""mutation($input: WebhookInput!) {{ webhookCreate(input: $input) {{
    webhook {{ {WEBHOOK_FIELDS} }} errors {{ code field message }} }} }}"""
DELIVERIES = """query($id: ID!, $status: WebhookDeliveryStatus) {
  webhookDeliveries(webhookId: $id, first: 100, filter: {status: $status}) {
    totalCount
    edges { node { id status attempts lastResponseStatus lastError nextAttemptAt createdAt
                   event { id type sequence } } }
  }
}"""


class Listener(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops concurrent connects (1 s SYN retries)


@dataclass
class Received:
    headers: dict[str, str]
    body: str

    @property
    def message(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every POST; answers with `answer(request)` (default 200)."""

    url: str
    received: list[Received] = field(default_factory=list)
    answer: Callable[[Received], int] = lambda _: 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [r.message for r in self.received]

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every request's body, after checking its signature as the spec says to."""
        with self.lock:
            requests = list(self.received)
        return [Verifier(secret).verify(r.body, r.headers) for r in requests]


@contextmanager
def receiving() -> Iterator[Receiver]:
    """A ThreadingHTTPServer on 127.0.0.1 (a free port) in a thread, for the test's length."""
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            request = Received(dict(self.headers.items()), self.rfile.read(length).decode())
            with receiver.lock:
                receiver.received.append(request)
            status = receiver.answer(request)
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = Listener(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


async def create_webhook(api: Api, url: str, events: list[str], **fields: Any) -> dict[str, Any]:
    made = await api.admin(CREATE, {"input": {"url": url, "events": events, **fields}})
    assert made["webhookCreate"]["errors"] == [], made
    return made["webhookCreate"]["webhook"]


async def deliveries(api: Api, webhook_id: str, status: str | None = None) -> list[dict]:
    found = await api.admin(DELIVERIES, {"id": webhook_id, "status": status})
    return [e["node"] for e in found["webhookDeliveries"]["edges"]]

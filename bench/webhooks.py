"""`python -m bench.webhooks`: webhook delivery throughput of one worker (domain/delivery.py's
rounds, in this process) to a local receiver answering 204, per backend.

python -m bench.webhooks                          # SQLite and PostgreSQL, 2000 events
python -m bench.webhooks --backends sqlite --events 5000

The events are written first (product.updated events of distinct objects, one transaction
each, as mutations write them); then the clock runs from the first fan-out to the last
recorded delivery: events delivered per second, fan-out, claim, signed POST and the recorded
outcome included.
"""

import argparse
import asyncio
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.__main__ import drop_database, fresh_database
from domain import delivery, events
from models.engine import Database
from models.migrate import upgrade
from models.settings import Settings
from models.webhooks import Webhook, WebhookDelivery


class Listener(ThreadingHTTPServer):
    request_queue_size = 128  # the default 5 drops concurrent connects (1 s SYN retries)


class Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self.send_response(204)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


async def run(backend: str, count: int, scratch: Path) -> None:
    name = f"stockroom_bench_webhooks_{uuid.uuid4().hex[:6]}"
    url = await fresh_database(backend, name, scratch)
    server = Listener(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    db = Database(url)
    try:
        await upgrade(db)
        async with db.transaction() as session:
            target = f"http://127.0.0.1:{server.server_address[1]}/hook"
            session.add(
                Webhook(url=target, events=[events.PRODUCT_UPDATED], secret="whsec_" + "A" * 43)
            )
        started = time.perf_counter()
        for _ in range(count):
            async with db.transaction() as session:
                await events.emit(
                    session, events.PRODUCT_UPDATED, "Product", uuid.uuid4(), {"n": 1}
                )
        emitting = time.perf_counter() - started
        schedule = delivery.Schedule.of(Settings(database_url=url))
        started = time.perf_counter()
        async with delivery.new_client() as client:
            while await delivery.fan_out(db) or await delivery.deliver_due(db, schedule, client):
                pass
        seconds = time.perf_counter() - started
        async with db.reader() as session:
            done = await session.scalar(
                select(func.count()).where(WebhookDelivery.status == "SUCCEEDED")
            )
            errors = (
                await session.execute(
                    select(WebhookDelivery.last_error, func.count())
                    .where(WebhookDelivery.status != "SUCCEEDED")
                    .group_by(WebhookDelivery.last_error)
                )
            ).all()
        if errors:
            print(f"{backend}: not delivered at the first try (retried later): {errors}")
        print(
            f"{backend}: {count} events written in {emitting:.2f} s "
            f"({count / emitting:.0f}/s, one transaction each); delivered in {seconds:.2f} s: "
            f"{(done or 0) / seconds:.0f} events/s by one worker"
        )
    finally:
        server.shutdown()
        await db.dispose()
        await drop_database(backend, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        for backend in args.backends:
            asyncio.run(run(backend, args.events, Path(scratch)))


if __name__ == "__main__":
    main()

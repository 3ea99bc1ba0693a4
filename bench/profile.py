"""Profile a scenario in process with pyinstrument (what the benchmark's fixes came from).

python -m bench.profile listing              # 200 listings on a 1,000-product SQLite catalogue
python -m bench.profile checkout --runs 30   # 30 checkout flows
python -m bench.profile add                  # 200 cartItemAdd (bench/carts.py's answer)
python -m bench.profile listing --url postgresql+asyncpg://postgres@127.0.0.1/some_db --size 0

The app runs inside this process (httpx's ASGI transport, no sockets), so the profile shows the
server's work only; `--size 0` uses the database at `--url` as it is (it must be migrated).
"""

import argparse
import asyncio
import itertools
import random
import tempfile
import uuid
from collections.abc import Awaitable, Callable

import httpx
from pyinstrument import Profiler

from bench import scenarios
from bench.__main__ import CLIENT, FLOW_STOCK, clients, seeded
from bench.carts import ADD_CART
from models.settings import Settings
from server import create_app

Step = Callable[[httpx.AsyncClient], Awaitable[object]]
StepMaker = Callable[[scenarios.Client, scenarios.Client, httpx.ASGITransport], Awaitable[Step]]


async def listing_step(
    admin: scenarios.Client, shop: scenarios.Client, transport: httpx.ASGITransport
) -> Step:
    async def step(http: httpx.AsyncClient) -> object:
        return await shop.run(http, scenarios.LISTING, {"first": 20})

    return step


async def checkout_step(
    admin: scenarios.Client, shop: scenarios.Client, transport: httpx.ASGITransport
) -> Step:
    async with httpx.AsyncClient(transport=transport, base_url=admin.base) as http:
        method = await scenarios.shipping_method(admin, http)
        products = await scenarios.stocked_products(admin, http, 3, FLOW_STOCK)

    async def step(http: httpx.AsyncClient) -> object:
        order = await scenarios.checkout(shop, http, f"p-{uuid.uuid4().hex}", products, method)
        return await scenarios.pay(shop, http, order)

    return step


async def add_step(
    admin: scenarios.Client, shop: scenarios.Client, transport: httpx.ASGITransport
) -> Step:
    async with httpx.AsyncClient(transport=transport, base_url=admin.base) as http:
        products = await scenarios.stocked_products(admin, http, 3, FLOW_STOCK)
    counter = itertools.count()

    async def step(http: httpx.AsyncClient) -> object:
        reference = f"add-{next(counter) // 3}"
        variables = {"ref": reference, "id": random.choice(products), "q": 1}
        return await shop.run(http, ADD_CART, variables)

    return step


STEPS: dict[str, StepMaker] = {
    "listing": listing_step,
    "checkout": checkout_step,
    "add": add_step,
}


async def profile(args: argparse.Namespace) -> Profiler:
    url = args.url or f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/profile.db"
    if args.size:
        await seeded(url, args.size)
    settings = Settings(
        database_url=url,
        log_level="WARNING",
        client_id=CLIENT["STOCKROOM_CLIENT_ID"],
        client_secret=CLIENT["STOCKROOM_CLIENT_SECRET"],
        response_cache_size=0,  # every request runs, as in `make bench`'s uncached rows
    )
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://app", timeout=60) as http:
        admin, shop = await clients("http://app", http)
        step = await STEPS[args.scenario](admin, shop, transport)
        for _ in range(5):  # warm caches, DataLoaders' code paths and connection pools
            await step(http)
        profiler = Profiler(interval=args.interval, async_mode="enabled")
        with profiler:
            for _ in range(args.runs):
                await step(http)
    await app.state.db.dispose()
    return profiler


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("scenario", choices=sorted(STEPS))
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--size", type=int, default=1000, help="products to generate (0: none)")
    parser.add_argument("--url", help="database URL (default: a new SQLite file)")
    parser.add_argument("--interval", type=float, default=0.0005, help="sampling interval (s)")
    parser.add_argument("--html", help="also write an HTML report here")
    args = parser.parse_args()
    profiler = asyncio.run(profile(args))
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if args.html:
        with open(args.html, "w") as out:
            out.write(profiler.output_html())


if __name__ == "__main__":
    main()

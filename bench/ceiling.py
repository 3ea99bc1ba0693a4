"""The ceiling: the catalogue listing's response shape served by a minimal Strawberry app
from memory (no auth, no database), on uvicorn like the real server, so listing figures can
be read as a ratio to it.

    python -m bench.ceiling --port P
"""

import argparse

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Money:
    amount: int
    currency: str
    formatted: str


@strawberry.type
class DisplayPrice:
    with_tax: Money
    without_tax: Money
    tax: Money


@strawberry.type
class Category:
    id: strawberry.ID
    name: str
    slug: str


@strawberry.type
class Product:
    id: strawberry.ID
    name: str
    slug: str
    sku: str
    price: DisplayPrice
    stock_status: str
    categories: list[Category]


@strawberry.type
class ProductEdge:
    cursor: str
    node: Product


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ProductConnection:
    edges: list[ProductEdge]
    page_info: PageInfo


def _money(amount: int) -> Money:
    return Money(amount=amount, currency="USD", formatted=f"${amount / 100:,.2f}")


def _products(count: int) -> list[Product]:
    categories = [
        Category(id=strawberry.ID(f"c{i}"), name=f"Category {i}", slug=f"cat-{i}") for i in range(5)
    ]
    return [
        Product(
            id=strawberry.ID(f"p{i}"),
            name=f"Product {i}",
            slug=f"product-{i}",
            sku=f"SKU-{i}",
            price=DisplayPrice(
                with_tax=_money(1200 + i), without_tax=_money(1000 + i), tax=_money(200)
            ),
            stock_status="IN_STOCK",
            categories=categories[i % 5 : i % 5 + 2],
        )
        for i in range(count)
    ]


PRODUCTS = _products(100)


@strawberry.type
class Query:
    @strawberry.field
    def products(self, first: int = 20) -> ProductConnection:
        page = PRODUCTS[:first]
        return ProductConnection(
            edges=[ProductEdge(cursor=p.id, node=p) for p in page],
            page_info=PageInfo(has_next_page=True, end_cursor=page[-1].id if page else None),
        )


async def _health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    # The same parse and validation caches as Stockroom's schema: the ratio to this ceiling
    # measures the data and resolver work, not caching.
    schema = strawberry.Schema(
        query=Query,
        extensions=[lambda: ParserCache(maxsize=100), lambda: ValidationCache(maxsize=100)],
    )
    return Starlette(
        routes=[
            Route("/graphql", GraphQL(schema), methods=["GET", "POST"]),
            Route("/health", _health),
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(
        create_app(), host="127.0.0.1", port=args.port, log_level="warning", access_log=False
    )

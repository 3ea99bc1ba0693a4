"""Query cost (API.md section 14): reported in extensions.cost, refused over the maximum
before anything runs, linear in the document, compiled once per cached document."""

import uuid
from typing import Any

import httpx
import pytest
from graphql import parse

from models.settings import Settings
from schema import build_schema, cost
from server import create_app
from tests.conftest import Api, Template

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])
PRODUCTS = "query($n: Int) { products(first: $n) { edges { node { name } } } }"


async def test_every_answer_reports_its_cost(api: Api) -> None:
    body = await api.gql("{ products(first: 10) { edges { node { name } } } }")
    # products: 1 + 10 x (the edges list 1; a single object and scalars are free)
    assert body["extensions"]["cost"] == {"requestedQueryCost": 11, "maximumAvailable": 1000}
    body = await api.gql(PRODUCTS, {"n": 50})
    assert body["extensions"]["cost"]["requestedQueryCost"] == 51
    body = await api.gql(PRODUCTS)  # no page size: the default page (20)
    assert body["extensions"]["cost"]["requestedQueryCost"] == 21
    body = await api.gql("{ taxBands { name } }")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1
    listing = (
        "{ products(first: 100) { totalCount edges { node { name sku price { withTax "
        "{ formatted } tax { formatted } } categories { name } brand { name } } } } }"
    )
    body = await api.gql(listing)  # a full page of a storefront listing stays well inside
    assert "errors" not in body
    too_large = await api.gql(PRODUCTS, {"n": 101})  # priced as 100; refused when it runs
    assert too_large["extensions"]["cost"]["requestedQueryCost"] == 101
    assert "errors" not in body
    assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + 100 * 2


async def test_a_document_over_the_maximum_is_refused_before_it_runs(api: Api) -> None:
    body = await api.gql(
        "{ brands(first: 100) { edges { node { products(first: 100) "
        "{ edges { node { name } } } } } } }"
    )
    assert "data" not in body
    error = body["errors"][0]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert error["extensions"]["cost"]["requestedQueryCost"] > 1000
    assert body["extensions"]["cost"]["maximumAvailable"] == 1000


async def test_a_refused_mutation_changes_nothing(settings: Settings, template: Template) -> None:
    """With STOCKROOM_MAX_QUERY_COST=1 a mutation costing 2 (a root field, a list) never runs."""
    app = create_app(settings.model_copy(update={"max_query_cost": 1}))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            api = Api(http, template)
            create = 'mutation { taxBandCreate(input: {name: "VAT", rate: "20"}) { taxBand { name } errors { code } } }'
            refused = await api.gql(create)
            assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
            assert refused["extensions"]["cost"] == {
                "requestedQueryCost": 2,
                "maximumAvailable": 1,
            }
            assert (await api.admin("{ taxBands { name } }"))["taxBands"] == []
    finally:
        await app.state.db.dispose()


def test_fragments_are_priced_once_however_often_they_are_spread(settings: Settings) -> None:
    """30 levels of fragments, each spreading the one below twice: 2^30 paths through the
    document. Pricing walks each fragment once (a walk per path would never finish)."""
    levels = ["fragment F0 on Query { taxBands { name } }"]
    levels += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, 31)]
    document = parse("query { ...F30 }\n" + "\n".join(levels))
    graphql_schema = build_schema(settings)._schema
    assert cost.document_cost(graphql_schema, document, None, {}) == 2**30


def test_a_document_is_compiled_once(settings: Settings, monkeypatch: Any) -> None:
    compiled: list[object] = []
    original = cost._Compiler.operation

    def counting(self: Any, operation: Any) -> Any:
        compiled.append(operation)
        return original(self, operation)

    monkeypatch.setattr(cost._Compiler, "operation", counting)
    document = parse(PRODUCTS)
    graphql_schema = build_schema(settings)._schema
    assert cost.document_cost(graphql_schema, document, None, {"n": 1}) == 2
    assert cost.document_cost(graphql_schema, document, None, {"n": 2}) == 3
    assert len(compiled) == 1


async def test_cached_documents_are_not_recompiled(api: Api, monkeypatch: Any) -> None:
    compiled: list[object] = []
    original = cost._Compiler.operation

    def counting(self: Any, operation: Any) -> Any:
        compiled.append(operation)
        return original(self, operation)

    monkeypatch.setattr(cost._Compiler, "operation", counting)
    query = PRODUCTS.replace("products(", f"p{uuid.uuid4().hex}: products(")  # a new document
    for size in (1, 2, 3):
        body = await api.gql(query, {"n": size})
        assert body["extensions"]["cost"]["requestedQueryCost"] == 1 + size
    assert len(compiled) == 1

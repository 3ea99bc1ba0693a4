"""Compiled catalogue reads (schema/execution.py) answer exactly as graphql-core does: every
catalogue document shape, both roles, another currency, errors, on a demo shop; byte for
byte, with the same SQL statement counts."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLObjectType, get_named_type, is_leaf_type, is_non_null_type

from models.settings import Settings
from schema import build_schema, execution
from server import _seed_demo, create_app
from tests.conftest import Template

Pair = tuple[httpx.AsyncClient, httpx.AsyncClient]


def selection(object_type: GraphQLObjectType, depth: int, admin: bool) -> str:
    """Every field of a type that needs no argument (and for a storefront, no admin token),
    objects `depth` levels down (interfaces and unions left out: those documents are
    graphql-core's), lists of 3 where paged."""
    parts = ["__typename"]
    for name, field in object_type.fields.items():
        if any(is_non_null_type(a.type) for a in field.args.values()):
            continue
        definition = (field.extensions or {}).get("strawberry-definition")
        if not admin and definition is not None and definition.permission_classes:
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name)
        elif isinstance(named, GraphQLObjectType) and depth > 0:
            paged = "(first: 3)" if "first" in field.args else ""
            parts.append(f"{name}{paged} {{ {selection(named, depth - 1, admin)} }}")
    return " ".join(parts)


SCHEMA = build_schema(Settings())._schema
TYPES = SCHEMA.type_map


def documents(admin: bool) -> dict[str, str]:
    def of(type_name: str, depth: int) -> str:
        return selection(TYPES[type_name], depth, admin)  # type: ignore[arg-type]

    return {
        "listing": "query($first: Int!) { products(first: $first) { totalCount edges { cursor "
        f"node {{ {of('Product', 1)} }} }} pageInfo {{ {of('PageInfo', 0)} }} }} }}",
        "product page": f"query($slug: String) {{ product(slug: $slug) {{ {of('Product', 2)} }} }}",
        "category page": "query($slug: String) { category(slug: $slug) { "
        f"{of('Category', 1)} page: products(first: 5) {{ edges {{ node {{ {of('Product', 0)} }} }} }} }} }}",
        "roots": f"{{ categories {{ {of('Category', 1)} }} brands(first: 5) {{ {of('BrandConnection', 2)} }} "
        f"collections(first: 5) {{ {of('CollectionConnection', 2)} }} currencies {{ {of('Currency', 0)} }} "
        f"taxBands {{ {of('TaxBand', 0)} }} }}",
        "fragments and aliases": """
            query($first: Int!) { a: products(first: $first, sortBy: {field: NAME}) { ...Page }
              b: products(first: 2, filter: {search: "a"}) { ...Page } __typename }
            fragment Page on ProductConnection { edges { node { ...Card n: name } } }
            fragment Card on Product { id slug x: sku price { withTax { formatted amount } } }""",
        "a directive (graphql-core's)": """query($first: Int!, $yes: Boolean!) {
            products(first: $first) { edges { node { sku name @include(if: $yes) } } } }""",
        "an admin-only field": f"query($first: Int!) {{ products(first: $first) {{ edges {{ node "
        f"{{ sku stock {{ {selection(TYPES['Stock'], 0, True)} }} }} }} }} }}",  # type: ignore[arg-type]
        "a bad cursor": '{ products(first: 2, after: "not-a-cursor") { edges { cursor } } }',
        "no such product": '{ product(slug: "nothing-here") { sku } }',
    }


@pytest.fixture
async def apps(settings: Settings) -> AsyncIterator[Pair]:
    """A demo shop served twice: by compiled plans and by graphql-core alone."""
    await _seed_demo(settings)
    common = {"response_cache_size": 0, "sql_count_header": True}
    compiled = create_app(settings.model_copy(update={**common, "compiled_reads": True}))
    generic = create_app(settings.model_copy(update={**common, "compiled_reads": False}))
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=a), base_url="http://test")
        for a in (compiled, generic)
    ]
    yield clients[0], clients[1]
    for client, app in zip(clients, (compiled, generic), strict=True):
        await client.aclose()
        await app.state.db.dispose()


async def both(pair: Pair, body: dict[str, Any], headers: dict[str, str]) -> list[Any]:
    """Each app's second answer (the first may fill caches the process shares, such as the
    currency table, which the other app then finds filled)."""
    answers = []
    for client in pair:
        await client.post("/graphql", json=body, headers=headers)
        response = await client.post("/graphql", json=body, headers=headers)
        answers.append((response.status_code, response.text, response.headers["x-sql-statements"]))
    return answers


async def first_slugs(pair: Pair, token: str) -> tuple[str, str]:
    query = "{ products(first: 1) { edges { node { slug } } } categories { slug } }"
    response = await pair[1].post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )
    data = response.json()["data"]
    return data["products"]["edges"][0]["node"]["slug"], data["categories"][0]["slug"]


async def test_compiled_answers_are_graphql_cores_byte_for_byte(
    apps: Pair, template: Template
) -> None:
    product, category = await first_slugs(apps, template.storefront_token)
    variables = {"first": 4, "slug": product, "yes": True}
    runs_before, fallbacks_before = execution.PLANS.runs, execution.PLANS.fallbacks
    compared = 0
    failing = {"a bad cursor", "an admin-only field"}
    for token, admin in ((template.storefront_token, False), (template.admin_token, True)):
        for currency in (None, "EUR", "USD"):
            headers = {"Authorization": f"Bearer {token}"}
            if currency:
                headers["X-Currency"] = currency
            for name, query in documents(admin).items():
                own = {**variables, "slug": category} if name == "category page" else variables
                body = {"query": query, "variables": own}
                compiled, generic = await both(apps, body, headers)
                assert compiled[:2] == generic[:2], name
                expect_errors = name in failing and not (admin and name == "an admin-only field")
                assert ('"errors"' in compiled[1]) == expect_errors, (name, compiled[1][:300])
                if not expect_errors:  # a failed plan runs again: more statements
                    assert compiled[2] == generic[2], name
                compared += 1
    assert compared == 2 * 3 * len(documents(False))
    assert execution.PLANS.runs - runs_before >= 2 * 3 * 6  # the plain documents ran compiled
    assert execution.PLANS.fallbacks > fallbacks_before  # and the errors were graphql-core's


async def test_a_document_that_keeps_failing_stops_being_compiled(
    apps: Pair, template: Template
) -> None:
    headers = {"Authorization": f"Bearer {template.storefront_token}"}
    query = "{ products(first: 2) { edges { node { sku stock { total } } } } }"
    for _ in range(execution.FALLBACKS_KEPT + 2):
        await apps[0].post("/graphql", json={"query": query}, headers=headers)
    fallbacks = execution.PLANS.fallbacks
    response = await apps[0].post("/graphql", json={"query": query}, headers=headers)
    assert response.json()["errors"][0]["path"] == ["products", "edges", 0, "node", "stock"]
    assert execution.PLANS.fallbacks == fallbacks  # no compiled attempt any more

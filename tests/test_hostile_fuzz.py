"""Bounded fuzzing (hypothesis) of the arguments of queries and mutations, on both databases:
hostile strings (lone surrogates, NUL and other control characters, bidirectional overrides,
LIKE wildcards, overlong text), numbers out of every range and deep JSON. Whatever comes in,
the answer is never a 5xx and never a masked internal error: a 4xx, a GraphQL error with a
code, or a UserError."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.settings import Settings
from server import create_app
from tests.conftest import Template

HOSTILE = [
    "\ud800",
    "a\udfffb",
    "\x00",
    "x\x07y",
    "\u202etxt.exe",
    "zero\u200bwidth",
    "\ufeff",
    "%" * 30_000,
    "_%\\" * 100,
    "x" * 250_000,
    "1e30",
    "-1e-30",
    "NaN",
    "Infinity",
    "9" * 400,
    "",
    " ",
    "\n",
    "UHJvZHVjdDp4",  # base64 of a malformed global id
]
strings = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=40),
    st.text(max_size=300),
)
integers = st.one_of(
    st.integers(min_value=-(2**31), max_value=2**31 - 1),
    st.sampled_from([-(2**63), 2**31, 2**53 + 1, 10**30]),
)
json_values = st.recursive(
    st.none() | st.booleans() | integers | st.floats(allow_nan=False) | strings,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(strings, inner, max_size=3),
    max_leaves=12,
)


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


OPERATIONS: list[tuple[str, dict[str, st.SearchStrategy[Any]]]] = [
    ("query($s: String) { product(slug: $s) { id } }", {"s": strings}),
    ("query($s: String) { product(sku: $s) { id } }", {"s": strings}),
    ("query($s: String) { products(filter: {search: $s}) { totalCount } }", {"s": strings}),
    ("query($s: String) { products(filter: {categorySlug: $s}) { totalCount } }", {"s": strings}),
    ("query($s: String) { orders(filter: {search: $s}) { totalCount } }", {"s": strings}),
    ("query($s: String) { customers(filter: {search: $s}) { totalCount } }", {"s": strings}),
    ("query($id: ID!) { node(id: $id) { id } }", {"id": strings}),
    ("query($r: String!) { cart(reference: $r) { itemCount } }", {"r": strings}),
    ("query($n: Int) { products(first: $n) { totalCount } }", {"n": integers}),
    ("query($a: String) { products(after: $a) { totalCount } }", {"a": strings}),
    (
        "mutation($sku: String!, $slug: String!, $name: String!, $price: Int!, $cf: JSON) {"
        " productCreate(input: {sku: $sku, slug: $slug, name: $name, price: $price,"
        " customFields: $cf}) { errors { code } } }",
        {"sku": strings, "slug": strings, "name": strings, "price": integers, "cf": json_values},
    ),
    (
        "mutation($rate: Decimal!, $code: String!) { currencyCreate(input: {code: $code,"
        ' name: "X", exchangeRate: $rate, format: "X{price}"}) { errors { code } } }',
        {"rate": strings, "code": strings},
    ),
    (
        'mutation($r: Decimal!) { taxBandCreate(input: {name: "T", rate: $r}) { errors { code } } }',
        {"r": strings},
    ),
    (
        "mutation($r: String!, $p: ID!, $q: Int!) { cartItemAdd(reference: $r, productId: $p,"
        " quantity: $q) { errors { code } } }",
        {"r": strings, "p": strings, "q": integers},
    ),
    (
        "mutation($e: String!, $p: String!) { customerTokenCreate(email: $e, password: $p)"
        " { errors { code } } }",
        {"e": strings, "p": strings},
    ),
    (
        "mutation($e: String!, $p: String!, $n: String!) { customerRegister(input: {email: $e,"
        " password: $p, name: $n}) { errors { code } } }",
        {"e": strings, "p": strings, "n": strings},
    ),
    (
        "mutation($id: ID!, $k: String, $n: String!) { orderPay(orderId: $id, input: {gateway:"
        ' "card", method: PURCHASE, idempotencyKey: $k, card: {number: $n, expMonth: 1,'
        ' expYear: 2040, cvc: "123"}}) { errors { code } } }',
        {"id": strings, "k": strings, "n": strings},
    ),
    ("query($v: JSON) { __typename }", {"v": st.sampled_from([nested(40), nested(400)])}),
]
REQUESTS = st.sampled_from(OPERATIONS).flatmap(
    lambda op: st.fixed_dictionaries(op[1]).map(lambda variables: (op[0], variables))
)


def _internal_errors(body: Any) -> list[Any]:
    answers = body if isinstance(body, list) else [body]
    return [
        error
        for answer in answers
        if isinstance(answer, dict)
        for error in answer.get("errors") or []
        if isinstance(error, dict)
        and (error.get("extensions") or {}).get("code") == "INTERNAL_SERVER_ERROR"
    ]


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(request=REQUESTS, as_admin=st.booleans())
def test_fuzzed_arguments_never_get_a_5xx_or_an_internal_error(
    fuzz_client: "FuzzClient", request: tuple[str, dict[str, Any]], as_admin: bool
) -> None:
    query, variables = request
    body = json.dumps({"query": query, "variables": variables})  # \ud800 stays escaped
    status, answer = fuzz_client.post(body, as_admin)
    assert status < 500, (status, query, answer)
    if status == 200:
        assert not _internal_errors(json.loads(answer)), (query, answer)


class FuzzClient:
    """One app and HTTP client for all the examples, driven on a loop of its own (hypothesis
    runs examples synchronously)."""

    def __init__(self, settings: Settings, template: Template) -> None:
        self.loop = asyncio.new_event_loop()
        self.app = create_app(settings)
        transport = httpx.ASGITransport(app=self.app)
        self.http = httpx.AsyncClient(transport=transport, base_url="http://fuzz", timeout=60)
        self.tokens = {True: template.admin_token, False: template.storefront_token}

    def post(self, body: str, as_admin: bool) -> tuple[int, str]:
        headers = {
            "Authorization": f"Bearer {self.tokens[as_admin]}",
            "Content-Type": "application/json",
        }
        response = self.loop.run_until_complete(
            self.http.post("/graphql", content=body.encode(), headers=headers)
        )
        return response.status_code, response.text

    def close(self) -> None:
        self.loop.run_until_complete(self.http.aclose())
        self.loop.run_until_complete(self.app.state.db.dispose())
        self.loop.close()


@pytest.fixture
def fuzz_client(settings: Settings, template: Template) -> Any:
    client = FuzzClient(settings, template)
    yield client
    client.close()

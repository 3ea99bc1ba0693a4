"""API conventions (section 3) over currencies and tax bands: payloads, UserErrors, ids,
display currency, limits, masking, GET and GraphiQL."""

import httpx

from resolvers.ids import parse_id
from tests.conftest import Api

TAX_BAND_CREATE = """
mutation($input: TaxBandInput!) {
  taxBandCreate(input: $input) { taxBand { id name rate } errors { code field message } }
}"""
CURRENCY_CREATE = """
mutation($input: CurrencyInput!) {
  currencyCreate(input: $input) {
    currency { id code name exchangeRate format decimalPlaces enabled default }
    errors { code field message }
  }
}"""


async def test_tax_band_crud_and_validation(api: Api) -> None:
    created = (await api.admin(TAX_BAND_CREATE, {"input": {"name": "VAT", "rate": "20"}}))[
        "taxBandCreate"
    ]
    assert created["errors"] == []
    band = created["taxBand"]
    assert band["rate"] == "20"
    kind, pk = parse_id(band["id"]) or ("", None)
    assert kind == "TaxBand" and pk is not None and pk.version == 4

    bad = (await api.admin(TAX_BAND_CREATE, {"input": {"name": "", "rate": "101"}}))[
        "taxBandCreate"
    ]
    assert bad["taxBand"] is None
    assert {(e["code"], tuple(e["field"])) for e in bad["errors"]} == {
        ("REQUIRED", ("input", "name")),
        ("INVALID", ("input", "rate")),
    }
    listed = await api.storefront("{ taxBands { id name } }")
    assert [b["name"] for b in listed["taxBands"]] == ["VAT"]  # the failed create left nothing

    update = """mutation($id: ID!) { taxBandUpdate(id: $id, input: {rate: "17.5"}) {
        taxBand { rate name } errors { code } } }"""
    updated = (await api.admin(update, {"id": band["id"]}))["taxBandUpdate"]
    assert updated["taxBand"] == {"rate": "17.5", "name": "VAT"}

    delete = "mutation($id: ID!) { taxBandDelete(id: $id) { taxBand { id } errors { code } } }"
    assert (await api.admin(delete, {"id": band["id"]}))["taxBandDelete"]["errors"] == []
    again = (await api.admin(delete, {"id": band["id"]}))["taxBandDelete"]
    assert again["errors"][0]["code"] == "NOT_FOUND"


async def test_currency_rules(api: Api) -> None:
    eur = {"code": "eur", "name": "Euro", "exchangeRate": "0.9", "format": "€{price}"}
    created = (await api.admin(CURRENCY_CREATE, {"input": eur}))["currencyCreate"]
    assert created["errors"] == []
    assert created["currency"]["code"] == "EUR"
    assert created["currency"]["default"] is False

    dup = (await api.admin(CURRENCY_CREATE, {"input": eur}))["currencyCreate"]
    assert dup["errors"][0]["code"] == "DUPLICATE"

    bad = {"code": "EURO", "name": "X", "exchangeRate": "-1", "format": "no placeholder"}
    errors = (await api.admin(CURRENCY_CREATE, {"input": bad}))["currencyCreate"]["errors"]
    assert {e["field"][-1] for e in errors} == {"code", "exchangeRate", "format"}

    store = (await api.admin('{ currency(code: "USD") { id default } }'))["currency"]
    assert store["default"] is True
    delete = "mutation($id: ID!) { currencyDelete(id: $id) { errors { code } } }"
    refused = (await api.admin(delete, {"id": store["id"]}))["currencyDelete"]
    assert refused["errors"][0]["code"] == "IN_USE"


async def test_storefront_sees_only_enabled_currencies(api: Api) -> None:
    hidden = {
        "code": "GBP",
        "name": "Pound",
        "exchangeRate": "0.8",
        "format": "£{price}",
        "enabled": False,
    }
    await api.admin(CURRENCY_CREATE, {"input": hidden})
    admin_codes = [c["code"] for c in (await api.admin("{ currencies { code } }"))["currencies"]]
    shop_codes = [
        c["code"] for c in (await api.storefront("{ currencies { code } }"))["currencies"]
    ]
    assert admin_codes == ["USD", "GBP"]
    assert shop_codes == ["USD"]


async def test_node_query_finds_objects_by_global_id(api: Api) -> None:
    band = (await api.admin(TAX_BAND_CREATE, {"input": {"name": "Low", "rate": "5"}}))[
        "taxBandCreate"
    ]["taxBand"]
    query = "query($id: ID!) { node(id: $id) { id ... on TaxBand { name } } }"
    assert (await api.storefront(query, {"id": band["id"]}))["node"]["name"] == "Low"
    assert (await api.storefront(query, {"id": "garbage"}))["node"] is None


async def test_misspelt_field_is_a_validation_error(api: Api) -> None:
    body = await api.gql("{ currencies { cod } }")
    assert body["errors"][0]["message"].startswith("Cannot query field 'cod'")
    assert "data" not in body or body["data"] is None


async def test_depth_and_alias_limits(api: Api) -> None:
    aliases = " ".join(f"a{i}: currencies {{ code }}" for i in range(40))
    body = await api.gql(f"{{ {aliases} }}")
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_get_runs_queries_but_never_mutations(api: Api, http: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {api.tokens['storefront']}"}
    ok = await http.get("/graphql", params={"query": "{ currencies { code } }"}, headers=headers)
    assert ok.json()["data"]["currencies"][0]["code"] == "USD"
    mutation = 'mutation { taxBandCreate(input: {name: "X", rate: "1"}) { errors { code } } }'
    refused = await http.get("/graphql", params={"query": mutation}, headers=headers)
    assert refused.status_code in (400, 405)
    assert "mutation" in refused.text.lower()


async def test_browser_gets_graphiql_without_a_token(http: httpx.AsyncClient) -> None:
    page = await http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "graphiql" in page.text.lower()


async def test_health_and_request_id(http: httpx.AsyncClient) -> None:
    response = await http.get("/health", headers={"X-Request-ID": "abc123"})
    assert response.json() == {"status": "ok"}
    assert response.headers["x-request-id"] == "abc123"


async def test_health_is_503_when_the_database_does_not_answer() -> None:
    from models.settings import Settings
    from server import create_app

    app = create_app(Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/none"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/health")
    assert response.status_code == 503
    assert response.json()["status"] != "ok"


async def test_internal_errors_are_masked_and_carry_the_request_id(api: Api, db: object) -> None:
    from sqlalchemy import text

    async with db.transaction() as session:  # type: ignore[attr-defined]
        await session.execute(text("ALTER TABLE tax_band RENAME TO tax_band_gone"))
    response = await api.post("{ taxBands { name } }", headers={"X-Request-ID": "req-42"})
    error = response.json()["errors"][0]
    assert error["message"] == "Internal server error"
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR", "requestId": "req-42"}
    assert "tax_band" not in response.text  # no SQL, no stack trace


async def test_sql_statement_header_for_benchmarks(settings: object, template: object) -> None:
    from server import create_app

    counting = settings.model_copy(update={"sql_count_header": True})  # type: ignore[attr-defined]
    app = create_app(counting)
    transport = httpx.ASGITransport(app=app)
    token = template.storefront_token  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        responses = [
            await client.post(
                "/graphql",
                json={"query": "{ currencies { code } taxBands { name } }"},
                headers={"Authorization": f"Bearer {token}"},
            )
            for _ in range(2)
        ]
    await app.state.db.dispose()
    # the first request also looks its token up and loads the process's currency and tax-rate
    # tables; the second is answered from the response cache
    assert [r.headers["x-sql-statements"] for r in responses] == ["5", "0"]

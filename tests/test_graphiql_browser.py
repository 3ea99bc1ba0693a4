"""GraphiQL in a real browser (Debian's headless Chromium driven by playwright) against a real
server: the page loads with no request leaving the machine, gets a token into its headers,
loads the schema with it, and runs a query."""

import json
import shutil
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import running_server
from tests.test_transport_http import CREDENTIALS, admin_headers

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api", reason="pip install playwright")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.parametrize("backend", ["sqlite"]),
    pytest.mark.skipif(
        CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium)"
    ),
]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUERY = "{ taxBands { name rate } }"


async def test_graphiql_runs_a_query_offline_with_a_token(db_url: str) -> None:
    async with running_server(db_url, **CREDENTIALS) as server:
        async with httpx.AsyncClient() as client:
            await client.post(
                f"{server.base}/graphql",
                json={
                    "query": 'mutation { taxBandCreate(input: {name: "Browser VAT", rate: "20"}) '
                    "{ errors { code } } }"
                },
                headers=await admin_headers(client, server.base),
            )
        async with playwright_api.async_playwright() as playwright:
            browser = await playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                await _exercise_graphiql(browser, server.base)
            finally:
                await browser.close()


async def _exercise_graphiql(browser, base: str) -> None:  # type: ignore[no-untyped-def]
    page = await browser.new_page()
    hosts: set[str] = set()
    graphql_calls: list[tuple[str, dict[str, str], int]] = []

    async def only_this_machine(route, request) -> None:  # type: ignore[no-untyped-def]
        hosts.add(urlsplit(request.url).hostname or request.url)
        if urlsplit(request.url).hostname == "127.0.0.1" or request.url.startswith("data:"):
            await route.continue_()
        else:
            await route.abort()

    async def record(response) -> None:  # type: ignore[no-untyped-def]
        request = response.request
        if request.method == "POST" and urlsplit(request.url).path == "/graphql":
            headers = await request.all_headers()
            graphql_calls.append((request.post_data or "", headers, response.status))

    await page.route("**/*", only_this_machine)
    page.on("response", record)
    await page.goto(f"{base}/graphql")
    await page.wait_for_selector(".graphiql-container", timeout=30_000)

    await page.fill("#client-id", CREDENTIALS["STOCKROOM_CLIENT_ID"])
    await page.fill("#client-secret", CREDENTIALS["STOCKROOM_CLIENT_SECRET"])
    await page.click("#get-token")
    await page.locator("#token-status", has_text="admin token").wait_for()
    # The schema is fetched again with the token: the introspection succeeds.
    await _wait_for(
        page,
        lambda: any(
            "IntrospectionQuery" in body
            and status == 200
            and headers.get("authorization", "").startswith("Bearer ")
            for body, headers, status in graphql_calls
        ),
    )

    await page.evaluate(
        "query => document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror.setValue(query)",
        QUERY,
    )
    await page.click(".graphiql-execute-button")
    await page.locator(".graphiql-response", has_text="Browser VAT").wait_for(timeout=30_000)

    def answered_calls() -> list[tuple[str, dict[str, str], int]]:
        return [c for c in graphql_calls if "taxBands" in c[0] and "IntrospectionQuery" not in c[0]]

    # `record` is async (it awaits the headers): the page may show the answer before it ran.
    await _wait_for(page, lambda: bool(answered_calls()))
    answered = answered_calls()
    assert answered and answered[-1][2] == 200
    assert answered[-1][1]["authorization"].startswith("Bearer ")
    assert json.loads(answered[-1][0])["query"] == QUERY
    assert hosts == {"127.0.0.1"}, hosts


async def _wait_for(page, condition, attempts: int = 100) -> None:  # type: ignore[no-untyped-def]
    for _ in range(attempts):
        if condition():
            return
        await page.wait_for_timeout(100)
    raise AssertionError("the condition never held")

"""HTTP and WebSocket transport: the authenticated GraphQL view, the OAuth token endpoint and
the health check (API.md sections 1 and 2)."""

import asyncio
import base64
import binascii
import json
import uuid
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any

import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import ExecutionResult
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry import Schema
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.schema.exceptions import InvalidOperationTypeError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from domain.auth import (
    OAuthError,
    Principal,
    TokenCache,
    grant_token,
    token_digest,
    verify_token,
)
from domain.customers import verify_customer_token
from domain.ratelimit import FailureLimits
from models.engine import Database
from models.settings import Settings
from resolvers.context import Context
from resolvers.observability import OperationRecord, current_record
from transport import httpcache, media
from transport.apq import PersistedQueries
from transport.graphiql import graphiql_page
from transport.guards import BadInput, decode_json, text_problem
from transport.response_cache import ResponseCache
from transport.subscriptions import SubscriptionSlots, is_subscription


class Unauthenticated(Exception):
    pass


class FreshOperationsHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with fresh request caches per operation (Strawberry makes one
    context per connection; a later query on it must not see an earlier one's DataLoader
    results: stale orders, stock, prices), and a limit on running subscriptions per token."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.slots_held: dict[str, str] = {}
        """Operation id -> token key, for the subscriptions holding one of the token's slots."""

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        self.context.forget_cached()
        await super().run_operation(operation)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        """A subscription takes one of its token's slots (transport/subscriptions.py) for as
        long as it runs; with none left it gets an `error` message (RATE_LIMITED)."""
        key = getattr(self.context.request.state, "token_key", None)
        payload = message.get("payload")
        if (
            key is None  # not acknowledged: the protocol's own answer follows
            or message["id"] in self.operations
            or not isinstance(payload, dict)
            or not isinstance(payload.get("query"), str)
            or not is_subscription(payload["query"], payload.get("operationName"))
        ):
            await super().handle_subscribe(message)
            return
        if not self._slots.take(key):
            refused = {"id": message["id"], "type": "error", "payload": [self._slots.refusal()]}
            await self.send_message(refused)  # type: ignore[arg-type]
            return
        op_id = message["id"]
        self.slots_held[op_id] = key
        await super().handle_subscribe(message)
        operation = self.operations.get(op_id)
        if operation is None or operation.task is None:
            self._give_back(op_id)
        else:  # however it ends; the two methods below free it sooner, when they can
            operation.task.add_done_callback(lambda _task: self._give_back(op_id))

    def forget_id(self, id: str) -> None:
        """The operation sent its last message (complete or error)."""
        super().forget_id(id)
        self._give_back(id)

    async def cleanup_operation(self, operation_id: str) -> None:
        """The client completed the operation, or the connection closed."""
        await super().cleanup_operation(operation_id)
        self._give_back(operation_id)

    @property
    def _slots(self) -> SubscriptionSlots:
        return self.view.subscription_slots  # type: ignore[attr-defined, no-any-return]

    def _give_back(self, op_id: str) -> None:
        key = self.slots_held.pop(op_id, None)
        if key is not None:
            self._slots.give_back(key)


class Authenticator:
    """Checks bearer tokens (and customer tokens) against the database, any process's tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.cache = TokenCache()

    async def principal(self, authorization: str | None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("send Authorization: Bearer <token> (POST /oauth/access_token)")
        principal = self.cache.get(token)
        if principal is None:
            async with self.db.reader() as session:
                principal = await verify_token(session, token)
            if principal is None:
                raise Unauthenticated("the access token is unknown or has expired")
            self.cache.put(token, principal)
        return principal

    async def customer(self, customer_token: str | None) -> uuid.UUID | None:
        if not customer_token:
            return None
        async with self.db.reader() as session:
            customer_id = await verify_customer_token(session, customer_token)
        if customer_id is None:
            raise Unauthenticated("the customer token is unknown or has expired")
        return customer_id


def unauthenticated_response(message: str, media_type: str) -> JSONResponse:
    body = {
        "data": None,
        "errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}],
    }
    return JSONResponse(
        body,
        status_code=401,
        headers={
            "WWW-Authenticate": "Bearer",
            "Content-Type": media.content_type(media_type),
            "Cache-Control": httpcache.PRIVATE,
        },
    )


class StockroomGraphQL(GraphQL[Context, None]):
    """Strawberry's ASGI view with authentication in front of every operation.

    Only a browser's plain GET (GraphiQL) is served without a token; GraphiQL sends the
    Authorization header the user sets in its headers pane.
    """

    graphql_transport_ws_handler_class = FreshOperationsHandler

    def __init__(
        self,
        schema: Schema,
        db: Database,
        settings: Settings,
        failure_limits: FailureLimits | None = None,
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql", allow_queries_via_get=True)
        self.db = db
        self.settings = settings
        self.auth = Authenticator(db)
        self.persisted = PersistedQueries(db, schema._schema, settings.persisted_queries_max)
        self.kinds = httpcache.Classifier()
        self.responses = ResponseCache(
            settings.response_cache_size, vary_origin=bool(settings.cors_origin_list)
        )
        self.failure_limits = failure_limits
        self.subscription_slots = SubscriptionSlots(settings.max_subscriptions_per_token)
        self.query_slots = asyncio.Semaphore(settings.sqlite_query_slots) if db.is_sqlite else None

    def encode_json(self, data: object) -> bytes:
        """Answers are encoded by orjson (a 20-product listing's 14 KB in about a fifth of
        json.dumps' time; UTF-8 as it is, where json.dumps escaped non-ASCII); anything it
        refuses (an integer past 64 bits) is encoded as Strawberry did."""
        try:
            return orjson.dumps(data)
        except TypeError:  # orjson.JSONEncodeError
            return json.dumps(data, separators=(",", ":")).encode()
        """SQLite: queries running at once in this process; the others wait their turn (with
        every query interleaved, each cost a third to a half more CPU at 16 clients: more
        aiosqlite threads and requests competing for the one Python thread)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        media_type = media.negotiate(request.headers.get("accept"))
        if self._wants_graphiql(request):
            response = await self._run(request, media_type)
        else:
            try:
                request.state.principal = await self.auth.principal(
                    request.headers.get("authorization")
                )
                request.state.customer_id = await self.auth.customer(
                    request.headers.get("x-customer-token")
                )
            except Unauthenticated as exc:
                response = unauthenticated_response(str(exc), media_type)
            else:
                _record_role(request.state.principal, request.state.customer_id)
                response = await self.answer(request, media_type)
        await response(scope, receive, send)

    async def answer(self, request: Request, media_type: str) -> Response:
        """The answer to an authenticated request: from the response cache when it holds it
        under the current version stamps, else run, labelled for HTTP caches (and kept)."""
        principal: Principal = request.state.principal
        key = None
        if (
            self.responses.enabled
            and request.state.customer_id is None
            and not principal.is_admin  # admins read stock figures that change with time
        ):
            key = self.responses.key(request, await request.body(), principal.is_admin)
            request.state.stamps = await self.db.stamps.read()
            hit = self.responses.get(key, request.state.stamps)
            if hit is not None:
                _record_operations(hit.operations)
                return httpcache.conditional(request, hit.response())
        request.state.kind = None  # set by each operation that runs
        response = await self._run(request, media_type)
        kind: httpcache.Kind = request.state.kind or httpcache.Kind.PRIVATE
        shown = httpcache.Kind.PRIVATE if principal.is_admin else kind
        httpcache.label(request, response, shown, self.settings.cache_max_age)
        if key is not None and kind is httpcache.Kind.CATALOGUE and response.status_code == 200:
            self.responses.put(key, request.state.stamps, response, _operations_run())
        return httpcache.conditional(request, response)

    async def _run(self, request: Request, media_type: str) -> Response:
        try:
            return await self.run(request)
        except HTTPException as error:
            allow = {"Allow": "POST"} if error.status_code == 405 else None
            return media.request_error(error.status_code, error.reason, media_type, allow)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Stockroom's offline GraphiQL page (transport/graphiql.py), not Strawberry's CDN one."""
        return graphiql_page()

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """The response headers and status being built; it carries the negotiated media type."""
        sub_response = await super().get_sub_response(request)
        sub_response.media_type = media.negotiate(request.headers.get("accept"))
        return sub_response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media_type = sub_response.media_type or media.JSON
        response = super().create_response(response_data, sub_response)
        response.headers["content-type"] = media.content_type(media_type)
        if not sub_response.status_code:
            response.status_code = media.status_code(media_type, response_data)
        return response

    async def process_result(self, request: Request, result: Any) -> GraphQLHTTPResponse:
        """A request that failed before execution has no `data` entry (GraphQL spec 7.1)."""
        body = await super().process_result(request, result)
        if media.failed_before_execution(body):
            body.pop("data", None)
        return body

    def parse_json(self, data: str | bytes) -> Any:
        parsed = super().parse_json(data)
        if isinstance(parsed, list) and not (
            parsed and all(isinstance(item, dict) for item in parsed)
        ):
            raise HTTPException(400, "a batch is a non-empty JSON array of operation objects")
        return parsed

    async def execute_operation(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: Any,
        sub_response: Response,
    ) -> Any:
        """A batch runs its operations one after another (in order, each seeing the writes
        of those before it, with fresh request caches), never concurrently on one context.
        The request's caches are dropped when it is answered: its DataLoaders refer back to the
        context (a reference cycle), and left alone every row they loaded would wait for the
        cycle collector instead of being freed at once."""
        try:
            if not isinstance(request_data, list):
                return await super().execute_operation(
                    request, request_adapter, request_data, context, root_value, sub_response
                )
            results = []
            for operation in request_data:
                context.forget_cached()
                results.append(
                    await self.execute_single(
                        request, request_adapter, sub_response, context, root_value, operation
                    )
                )
            return results
        finally:
            context.forget_cached()

    async def execute_single(  # type: ignore[override]
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: Any,
        request_data: GraphQLRequestData,
    ) -> Any:
        """One operation: its persisted query resolved first (API.md section 14) and what it
        reads noted for caching (a batch is as shareable as its least shareable operation); a
        query's reads share one session. A mutation (or subscription) over GET is 405 Method
        Not Allowed (Allow: POST)."""
        problem = await self.persisted.resolve(request_data)
        if problem is not None:
            request.state.kind = httpcache.Kind.PRIVATE
            return ExecutionResult(data=None, errors=[problem])
        reading = self.kinds.reading(request_data.query, request_data.operation_name)
        try:
            context.catalogue_read = (
                self.settings.compiled_reads and reading.kind is httpcache.Kind.CATALOGUE
            )
            if reading.is_query:  # one read session for all its reads; prices without awaiting
                async with self.query_slots or nullcontext(), context.sharing_reads():
                    await self._prepare_prices(context)
                    result = await super().execute_single(
                        request, request_adapter, sub_response, context, root_value, request_data
                    )
            else:
                result = await super().execute_single(
                    request, request_adapter, sub_response, context, root_value, request_data
                )
        except HTTPException as error:
            if request_adapter.method == "GET" and isinstance(
                error.__cause__, InvalidOperationTypeError
            ):
                raise HTTPException(405, error.reason) from error
            raise
        kind = httpcache.Kind.PRIVATE if result.errors else reading.kind
        request.state.kind = min(getattr(request.state, "kind", None) or kind, kind)
        return result

    @staticmethod
    async def _prepare_prices(context: Context) -> None:
        """Best effort: on failure the price fields load what they need themselves, and any
        error is reported (masked) by the field that hits it, like every resolver error."""
        try:
            await context.prepare_prices()
        except Exception:
            await context.end_shared_reads()  # a failed statement may have spoilt its transaction

    def decode_json(self, data: str | bytes) -> object:
        """JSON bodies and parameters through the one check of all incoming text
        (transport.guards): a 400 for invalid UTF-8 or JSON, a body that is not an object,
        nesting too deep, a NUL, a lone surrogate or an overlong string."""
        try:
            return decode_json(data)
        except BadInput as exc:
            raise HTTPException(400, str(exc)) from exc

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """The request's operations; the query and operation name (from a URL too) pass the
        same text check as JSON does. Variables are not walked again: Strawberry reads them
        (body, URL parameter or multipart `operations`) through `decode_json`, which checked
        them (a 500-product productBulkCreate walked its inputs twice)."""
        data = await super().parse_http_body(request)
        for item in data if isinstance(data, list) else [data]:
            problem = text_problem([item.query, item.operation_name])
            if problem:
                raise HTTPException(400, problem)
            if item.operation_name is not None and not isinstance(item.operation_name, str):
                raise HTTPException(400, "operationName must be a string or null")
        return data

    @staticmethod
    def _wants_graphiql(request: Request) -> bool:
        return (
            request.method == "GET"
            and "text/html" in request.headers.get("accept", "")
            and "query" not in request.query_params
            and "extensions" not in request.query_params  # a persisted query by hash
        )

    def should_render_graphql_ide(self, request: Any) -> bool:
        """Not for a GET that names a persisted query by hash (no `query` parameter)."""
        return super().should_render_graphql_ide(request) and (
            "extensions" not in request.query_params
        )

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        state = request.state
        return Context(
            db=self.db,
            settings=self.settings,
            principal=getattr(state, "principal", None),
            customer_id=getattr(state, "customer_id", None),
            request=request,
            response=response,
            requested_currency=request.headers.get("x-currency"),
            stamps=getattr(state, "stamps", None),
            failure_limits=self.failure_limits,
        )

    async def on_ws_connect(self, context: Context) -> Any:
        """WebSocket clients authenticate in connection_init: {"authorization": "Bearer ..."}
        (or {"headers": {...}} as Apollo sends it), else with the upgrade request's headers."""
        params = context.connection_params or {}
        if not isinstance(params, dict):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        credentials = _ws_credentials(params, context.request.headers)
        authorization = credentials.get("authorization")
        try:
            context.principal = await self.auth.principal(authorization)
            context.customer_id = await self.auth.customer(credentials.get("x-customer-token"))
        except Unauthenticated as exc:
            raise ConnectionRejectionError(
                {"code": "UNAUTHENTICATED", "message": str(exc)}
            ) from exc
        assert authorization is not None  # principal() accepted it
        context.request.state.token_key = token_digest(authorization.partition(" ")[2].strip())
        return None


def _operations_run() -> list[tuple[str | None, str]]:
    record = current_record()
    return [(o.name, o.kind) for o in record.operations] if record else []


def _record_operations(operations: Sequence[tuple[str | None, str]]) -> None:
    """A cached answer's operations, for the access log and the metrics (as if they ran)."""
    record = current_record()
    if record is not None:
        record.operations += [OperationRecord(name, kind, None, []) for name, kind in operations]


def _record_role(principal: Principal, customer_id: uuid.UUID | None) -> None:
    """The caller's role for the access log (a storefront with a customer token: +CUSTOMER)."""
    record = current_record()
    if record is not None:
        record.role = principal.role.name + ("+CUSTOMER" if customer_id else "")


def _ws_credentials(params: dict[str, Any], upgrade_headers: Mapping[str, str]) -> dict[str, str]:
    """`authorization` and `x-customer-token` for a WebSocket: from connection_init's payload
    (top level, `customerToken` too, or its `headers` object), else the upgrade request's."""
    found = {k.lower(): v for k, v in upgrade_headers.items()}
    nested = params.get("headers")
    for source in (nested if isinstance(nested, dict) else {}, params):
        found.update({k.lower(): v for k, v in source.items() if isinstance(v, str)})
    if "customertoken" in found:
        found["x-customer-token"] = found["customertoken"]
    return found


def _oauth_error(error: OAuthError) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="stockroom"'
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers=headers,
    )


async def _token_request_fields(request: Request) -> dict[str, str]:
    """Form-encoded or JSON body; client credentials may also come as HTTP Basic auth."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = decode_json(await request.body())
        except BadInput as exc:
            raise OAuthError(400, "invalid_request", str(exc)) from exc
        if not isinstance(body, dict):
            raise OAuthError(400, "invalid_request", "the JSON body must be an object")
        fields = {k: str(v) for k, v in body.items() if isinstance(v, str | int)}
    else:
        fields = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    problem = text_problem(fields)
    if problem:
        raise OAuthError(400, "invalid_request", problem)
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic" and encoded:
        try:
            client_id, _, secret = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError(400, "invalid_request", "malformed Basic credentials") from exc
        fields.setdefault("client_id", client_id)
        fields.setdefault("client_secret", secret)
    return fields


def token_endpoint(db: Database, settings: Settings) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            fields = await _token_request_fields(request)
            grant = await grant_token(
                db,
                fields.get("grant_type"),
                fields.get("client_id"),
                fields.get("client_secret"),
                settings.token_ttl_seconds,
            )
        except OAuthError as error:
            return _oauth_error(error)
        except ValueError:
            return _oauth_error(OAuthError(400, "invalid_request", "the body is not valid JSON"))
        return JSONResponse(
            {
                "access_token": grant.access_token,
                "token_type": "Bearer",
                "expires": int(grant.expires_at.timestamp()),
                "expires_in": grant.expires_in,
                "identifier": grant.identifier,
            },
            headers={"Cache-Control": "no-store"},
        )

    return endpoint


def health_endpoint(db: Database) -> Any:
    async def endpoint(request: Request) -> Response:
        if await db.ping():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "unavailable"}, status_code=503)

    return endpoint

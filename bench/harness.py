"""Real server processes and an HTTP load driver, shared by the benchmarks and the tests."""

import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    base: str
    log: IO[bytes]
    process: asyncio.subprocess.Process

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def peak_memory_kib(self) -> int:
        """Peak resident memory (VmHWM) of the server and its worker processes, summed."""
        return sum(_vm_hwm(pid) for pid in [self.process.pid, *_children(self.process.pid)])

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server and its worker processes have used so far: per
        request, a cost that other load on the machine hardly changes (unlike latency)."""
        return sum(_cpu_seconds(pid) for pid in [self.process.pid, *_children(self.process.pid)])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _vm_hwm(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


@asynccontextmanager
async def running_server(
    db_url: str, workers: int = 1, command: Sequence[str] | None = None, **env: str
) -> AsyncIterator[LiveServer]:
    """`python server.py` (or `command`) on a free port, serving once /health answers."""
    port = free_port()
    environment = {
        **os.environ,
        "STOCKROOM_DATABASE_URL": db_url,
        "STOCKROOM_LOG_LEVEL": "WARNING",
        **env,
    }
    args = command or ["server.py", "--workers", str(workers)]
    log = tempfile.TemporaryFile()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        "--port",
        str(port),
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = LiveServer(f"http://127.0.0.1:{port}", log, process)
    try:
        await _wait_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=15)
        except TimeoutError:
            process.kill()
            await process.wait()
        log.close()


async def _wait_healthy(server: LiveServer) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if server.process.returncode is not None:
                raise RuntimeError(
                    f"server exited with {server.process.returncode}:\n{server.output()}"
                )
            try:
                if (await client.get(f"{server.base}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not become healthy within 60 s")


@dataclass
class LoadResult:
    """Throughput and latency of one measurement; `sql_statements` is the median per call (a
    request, or a whole flow of requests) as the server's X-SQL-Statements header reported."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    sql_statements: int | None
    driver: str
    first_error: str | None = None
    cpu_ms: float | None = None
    """Server CPU milliseconds per call (request or flow), when the server's clock was given."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


@dataclass(frozen=True)
class FlowDone:
    """What a multi-request call (a checkout flow) reports: the SQL statements of all its
    requests, or None when the server does not report them."""

    sql_statements: int | None


Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response | FlowDone]]


def _problem(outcome: httpx.Response | FlowDone) -> str | None:
    if isinstance(outcome, FlowDone):
        return None
    if outcome.status_code != 200 or "errors" in outcome.json():
        return outcome.text[:300]
    return None


def _statements(outcome: httpx.Response | FlowDone) -> int | None:
    if isinstance(outcome, FlowDone):
        return outcome.sql_statements
    header = outcome.headers.get("x-sql-statements")
    return int(header) if header is not None else None


CpuClock = Callable[[], float]


def _cpu_ms(clock: CpuClock | None, before: float | None, calls: int) -> float | None:
    if clock is None or before is None or not calls:
        return None
    return round((clock() - before) * 1000 / calls, 2)


async def drive(
    call: Call, concurrency: int, total: int, warmup: int = 20, cpu: CpuClock | None = None
) -> LoadResult:
    """Run `call` `total` times from `concurrency` clients (after a warm-up), timing each:
    the Python driver, for flows (and for reads where wrk is not installed). `cpu`: the
    server's CPU clock, for its CPU time per call."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        for _ in range(warmup):
            await call(client)
        latencies: list[float] = []
        failures: list[str] = []
        sql: list[int] = []
        remaining = total

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                try:
                    outcome = await call(client)
                except Exception as exc:  # counted and reported, never hidden
                    failures.append(repr(exc)[:300])
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                problem = _problem(outcome)
                if problem:
                    failures.append(problem)
                count = _statements(outcome)
                if count is not None:
                    sql.append(count)

        cpu_before = cpu() if cpu else None
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        cpu_ms = _cpu_ms(cpu, cpu_before, total)
    return LoadResult(
        requests=total,
        seconds=elapsed,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        errors=len(failures),
        sql_statements=round(statistics.median(sql)) if sql else None,
        driver="python",
        first_error=failures[0] if failures else None,
        cpu_ms=cpu_ms,
    )


def graphql_call(
    base: str,
    token: str,
    query: str,
    variables: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> Call:
    headers = {"Authorization": f"Bearer {token}", **(headers or {})}

    async def call(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    return call


# --- wrk: a C load generator, so the client leaves the (2) cores to the server -------------

WRK_SCRIPT = """
%(request)s
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK_RESULT {\\"requests\\": %%d, \\"seconds\\": %%.6f, \\"errors\\": %%d, \\"non_2xx\\": %%d, \\"p50_ms\\": %%.3f, \\"p99_ms\\": %%.3f}\\n",
    summary.requests, summary.duration / 1e6, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"""


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def get_call(url: str, headers: dict[str, str]) -> Call:
    """A plain GET of `url` (e.g. a persisted query by hash)."""

    async def call(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(url, headers=headers)

    return call


async def wrk_drive(
    base: str,
    token: str,
    query: str,
    variables: dict[str, Any],
    concurrency: int,
    seconds: float,
    headers: dict[str, str] | None = None,
    cpu: CpuClock | None = None,
) -> LoadResult:
    """POST one GraphQL request over and over from `concurrency` connections for `seconds`
    with wrk, after a check over httpx that it answers without errors (and how many SQL
    statements it costs: wrk sees status codes, not GraphQL errors)."""
    probe = await drive(graphql_call(base, token, query, variables, headers), 1, 5, warmup=5)
    if probe.errors:
        return probe
    body = json.dumps({"query": query, "variables": variables})
    all_headers = {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        **(headers or {}),
    }
    request = f'wrk.method = "POST"\nwrk.body = [==[{body}]==]'
    return await _wrk(f"{base}/graphql", request, all_headers, concurrency, seconds, cpu, probe)


async def wrk_get(
    url: str, headers: dict[str, str], concurrency: int, seconds: float, cpu: CpuClock | None
) -> LoadResult:
    """GET `url` over and over with wrk (after the same httpx check as `wrk_drive`)."""
    probe = await drive(get_call(url, headers), 1, 5, warmup=5)
    if probe.errors:
        return probe
    return await _wrk(url, 'wrk.method = "GET"', headers, concurrency, seconds, cpu, probe)


async def _wrk(
    url: str,
    request: str,
    headers: dict[str, str],
    concurrency: int,
    seconds: float,
    cpu: CpuClock | None,
    probe: LoadResult,
) -> LoadResult:
    lines = "\n".join(f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items())
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % {"request": request, "headers": lines})
    cpu_before = cpu() if cpu else None
    try:
        process = await asyncio.create_subprocess_exec(
            "wrk",
            f"-t{min(concurrency, 2)}",
            f"-c{concurrency}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "60s",
            "-s",
            script.name,
            url,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        output = (await process.communicate())[0].decode(errors="replace")
    finally:
        os.unlink(script.name)
    found = [line for line in output.splitlines() if line.startswith("WRK_RESULT ")]
    if not found:
        raise RuntimeError(f"wrk failed:\n{output}")
    data = json.loads(found[0].removeprefix("WRK_RESULT "))
    cpu_ms = _cpu_ms(cpu, cpu_before, data["requests"])
    errors = data["errors"] + data["non_2xx"]
    return LoadResult(
        requests=data["requests"],
        seconds=data["seconds"],
        p50_ms=data["p50_ms"],
        p99_ms=data["p99_ms"],
        errors=errors,
        sql_statements=probe.sql_statements,
        driver="wrk",
        first_error=f"{errors} failed requests (wrk)" if errors else None,
        cpu_ms=cpu_ms,
    )

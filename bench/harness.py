"""Real server processes and an HTTP load driver, shared by the benchmarks and the tests."""

import asyncio
import os
import socket
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


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


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
    requests: int
    seconds: float
    latencies_ms: list[float]
    errors: int
    sql_statements: int | None
    first_error: str | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies_ms)
        if not ordered:
            return 0.0
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index]


Call = Callable[[httpx.AsyncClient], Awaitable[httpx.Response | None]]


async def drive(call: Call, concurrency: int, total: int, warmup: int = 20) -> LoadResult:
    """Run `call` `total` times from `concurrency` clients (after a warm-up), timing each."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:
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
                    response = await call(client)
                except Exception as exc:  # counted and reported, never hidden
                    failures.append(repr(exc)[:300])
                    continue
                latencies.append((time.perf_counter() - started) * 1000)
                if response is not None:
                    if response.status_code != 200 or "errors" in response.json():
                        failures.append(response.text[:300])
                    if "x-sql-statements" in response.headers:
                        sql.append(int(response.headers["x-sql-statements"]))

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return LoadResult(
        total,
        elapsed,
        latencies,
        len(failures),
        max(sql) if sql else None,
        failures[0] if failures else None,
    )


def graphql_call(base: str, token: str, query: str, variables: dict[str, Any]) -> Call:
    headers = {"Authorization": f"Bearer {token}"}

    async def call(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            f"{base}/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    return call

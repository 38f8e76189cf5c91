"""A small, bounded HTTP/1.1 load generator over loopback (asyncio, keep-alive).

Written on asyncio streams rather than an HTTP client library so that the
client costs a few tens of microseconds a request and the server, not the
generator, is what runs out of CPU. It speaks only what the benchmarks need:
GET with headers, responses with Content-Length. Every run stops by itself
after ``max_requests`` or ``max_seconds``, whichever comes first.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from bench.common import percentile


@dataclass
class LoadResult:
    connections: int
    elapsed: float
    latencies: list[float] = field(default_factory=list)
    errors: dict[int, int] = field(default_factory=dict)  # status (0 = transport) -> count

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


async def _one_connection(
    host: str,
    port: int,
    request: bytes,
    budget: list[int],
    deadline: float,
    result: LoadResult,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    try:
        while budget[0] > 0 and clock() < deadline:
            budget[0] -= 1
            started = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            if status == 200:
                result.latencies.append(clock() - started)
            else:
                result.errors[status] = result.errors.get(status, 0) + 1
    except (ConnectionError, asyncio.IncompleteReadError):
        result.errors[0] = result.errors.get(0, 0) + 1
    finally:
        writer.close()


async def _load(
    host: str,
    port: int,
    path: str,
    headers: Mapping[str, str],
    connections: int,
    max_requests: int,
    max_seconds: float,
) -> LoadResult:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    request = ("\r\n".join(lines) + "\r\n\r\n").encode()
    result = LoadResult(connections=connections, elapsed=0.0)
    budget = [max_requests]
    started = time.perf_counter()
    deadline = started + max_seconds
    await asyncio.gather(
        *(
            _one_connection(host, port, request, budget, deadline, result)
            for _ in range(connections)
        )
    )
    result.elapsed = time.perf_counter() - started
    return result


def load(
    port: int,
    path: str,
    headers: Mapping[str, str],
    *,
    connections: int,
    max_requests: int,
    max_seconds: float,
    host: str = "127.0.0.1",
) -> LoadResult:
    """Send GET ``path`` over ``connections`` keep-alive connections until a bound is hit."""
    if host != "127.0.0.1":
        raise ValueError("benchmarks load only 127.0.0.1")
    return asyncio.run(_load(host, port, path, headers, connections, max_requests, max_seconds))


def _encode(host: str, port: int, path: str, headers: Mapping[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Connection: keep-alive"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _cycling_connection(
    host: str,
    port: int,
    requests: list[bytes],
    deadline: float,
    result: LoadResult,
    offset: int,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    n = offset
    try:
        while clock() < deadline:
            request = requests[n % len(requests)]
            n += 1
            started = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            if status == 200:
                result.latencies.append(clock() - started)
            else:
                result.errors[status] = result.errors.get(status, 0) + 1
    except (ConnectionError, asyncio.IncompleteReadError):
        result.errors[0] = result.errors.get(0, 0) + 1
    finally:
        writer.close()


def load_many(
    port: int,
    lists: list[list[tuple[str, Mapping[str, str]]]],
    *,
    connections: int,
    max_seconds: float,
    host: str = "127.0.0.1",
) -> LoadResult:
    """GET many paths: connection ``i`` cycles through ``lists[i % len(lists)]`` (each list
    one reader's requests, pre-shuffled) from its own offset until ``max_seconds``."""
    if host != "127.0.0.1":
        raise ValueError("benchmarks load only 127.0.0.1")
    encoded = [[_encode(host, port, path, hdrs) for path, hdrs in one] for one in lists]

    async def go() -> LoadResult:
        result = LoadResult(connections=connections, elapsed=0.0)
        started = time.perf_counter()
        deadline = started + max_seconds
        await asyncio.gather(
            *(
                _cycling_connection(
                    host, port, encoded[i % len(encoded)], deadline, result, offset=i * 997
                )
                for i in range(connections)
            )
        )
        result.elapsed = time.perf_counter() - started
        return result

    return asyncio.run(go())

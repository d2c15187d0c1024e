"""A small HTTP load generator for loopback benchmarks: N keep-alive connections in threads,
each sending requests back to back for a fixed time.

    .venv/bin/python benchmarks/httpload.py http://127.0.0.1:8000/healthz --seconds 5 --connections 8

Python threads share one interpreter lock, so this measures at most a few thousand requests a
second — enough for an application server on the same two cores, and the same client is used
for the ceiling (a minimal view) and for the pages, so their ratio is fair.
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else 0.0

    @property
    def p95(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[max(0, int(len(ordered) * 0.95) - 1)] if ordered else 0.0


def load(
    url: str,
    *,
    seconds: float = 5.0,
    connections: int = 8,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
    expect: tuple[int, ...] = (200,),
) -> Result:
    """Send requests to ``url`` from ``connections`` threads for ``seconds``; statuses other
    than ``expect`` count as errors."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    headers = dict(headers or {})
    if body is not None:
        headers.setdefault("Content-Type", "application/json")
    result = Result()
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        latencies, statuses, errors = [], {}, 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
                status = 0
            latencies.append((time.perf_counter() - start) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
            if status not in expect:
                errors += 1
        conn.close()
        with lock:
            result.requests += len(latencies)
            result.errors += errors
            result.latencies_ms += latencies
            for status, count in statuses.items():
                result.statuses[status] = result.statuses.get(status, 0) + count

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.perf_counter() - started
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--header", action="append", default=[], help="Name: value (repeatable)")
    args = parser.parse_args()
    headers = dict(h.split(":", 1) for h in args.header)
    result = load(
        args.url,
        seconds=args.seconds,
        connections=args.connections,
        headers={k.strip(): v.strip() for k, v in headers.items()},
    )
    print(
        json.dumps(
            {
                "requests_per_second": round(result.per_second, 1),
                "p50_ms": round(result.p50, 2),
                "p95_ms": round(result.p95, 2),
                "requests": result.requests,
                "errors": result.errors,
                "statuses": result.statuses,
            }
        )
    )


if __name__ == "__main__":
    main()

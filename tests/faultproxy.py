"""A small HTTP fault proxy (stdlib asyncio) in front of a real server.

``FaultProxy(upstream)`` listens on a free loopback port and forwards each request to the
upstream server, unless :attr:`FaultProxy.fault` names a fault, which it then answers itself
(or, for ``truncated``, corrupts the real answer). One request per connection
(``Connection: close``), so every request the app sends is counted (:meth:`rate`).
"""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from email.utils import formatdate

#: fault name -> what a user would call it (the benchmark's table rows)
FAULTS: dict[str, str] = {
    "500": "500 Internal Server Error",
    "502-html": "502 with an HTML body",
    "503-retry-after-86400": "503, Retry-After: 86400",
    "503-retry-after--1": "503, Retry-After: -1",
    "503-retry-after-past": "503, Retry-After: a past HTTP date",
    "429": "429 Too Many Requests",
    "truncated": "body cut short",
    "malformed": "malformed JSON",
    "wrong-shape": "JSON of the wrong shape",
    "huge": "50 MB body",
    "deep": "10,000-deep nesting",
    "401": "401 Unauthorized",
    "403": "403 Forbidden",
    "redirect": "302 to another port",
    "hang": "accepts, never answers",
}


def _response(status: str, body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Date: {formatdate(usegmt=True)}\r\nConnection: close\r\n{extra}\r\n"
    )
    return head.encode() + body


@functools.cache
def huge() -> bytes:
    """A 50 MB answer, built once (building it per request would load the test machine, not the app)."""
    return _response("200 OK", b'{"pad":"' + b"A" * (50 * 1024 * 1024) + b'"}')


class FaultProxy:
    def __init__(self, upstream: str) -> None:
        host, port = upstream.removeprefix("http://").rstrip("/").split(":")
        self.upstream = (host, int(port))
        self.fault: str | None = None
        self.requests: list[float] = []
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)
        self.url = f"http://127.0.0.1:{self.port}"

    # ---------------------------------------------------------------- counting --
    def rate(self, since: float) -> float:
        """Requests per second that reached the proxy since ``since`` (time.monotonic())."""
        now = time.monotonic()
        n = sum(1 for t in self.requests if t >= since)
        return n / max(now - since, 1e-6)

    # ----------------------------------------------------------------- serving --
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._server = server
        self._ready.set()
        self._loop.run_forever()

    def close(self) -> None:
        async def shutdown() -> None:
            self._server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._loop.stop()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop)
        self._thread.join(5)

    async def _read_request(self, reader: asyncio.StreamReader) -> bytes | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        body = await reader.readexactly(length) if length else b""
        # one request per connection: ask the upstream to close too
        lines = [ln for ln in head.split(b"\r\n") if ln and not ln.lower().startswith(b"connection:")]
        return b"\r\n".join(lines) + b"\r\nConnection: close\r\n\r\n" + body

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await self._read_request(reader)
        if request is None:
            writer.close()
            return
        self.requests.append(time.monotonic())
        fault = self.fault
        try:
            if fault == "hang":
                await asyncio.sleep(3600)
                return
            reply = await self._fault_reply(fault, request)
            writer.write(reply)
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            if not self._loop.is_closed():
                writer.close()

    async def _forward(self, request: bytes) -> bytes:
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        up_writer.write(request)
        await up_writer.drain()
        data = await up_reader.read()
        up_writer.close()
        return data

    async def _fault_reply(self, fault: str | None, request: bytes) -> bytes:
        if fault is None:
            return await self._forward(request)
        if fault == "500":
            return _response("500 Internal Server Error", b'{"status":"error","errorType":"internal","error":"boom"}')
        if fault == "502-html":
            return _response("502 Bad Gateway", b"<html><body><h1>502 Bad Gateway</h1>nginx</body></html>", "text/html")
        if fault == "503-retry-after-86400":
            return _response("503 Service Unavailable", b"busy", "text/plain", "Retry-After: 86400\r\n")
        if fault == "503-retry-after--1":
            return _response("503 Service Unavailable", b"busy", "text/plain", "Retry-After: -1\r\n")
        if fault == "503-retry-after-past":
            return _response("503 Service Unavailable", b"busy", "text/plain", "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n")
        if fault == "429":
            return _response("429 Too Many Requests", b"slow down", "text/plain", "Retry-After: 2\r\n")
        if fault == "truncated":
            real = await self._forward(request)
            head, _, body = real.partition(b"\r\n\r\n")
            return head + b"\r\n\r\n" + body[: max(len(body) // 2, 1)]  # Content-Length promises more
        if fault == "malformed":
            return _response("200 OK", b'{"status":"success","data":{"resultType":"vector","result":[{')
        if fault == "wrong-shape":
            return _response("200 OK", b'{"status":"success","data":{"resultType":"vector","result":"surprise"},"alerts":7}')
        if fault == "huge":
            return huge()
        if fault == "deep":
            return _response("200 OK", b"[" * 10_000 + b"]" * 10_000)
        if fault in ("401", "403"):
            status = "401 Unauthorized" if fault == "401" else "403 Forbidden"
            return _response(status, b'{"status":"error","errorType":"unauthorized","error":"no"}')
        if fault == "redirect":
            return _response("302 Found", b"", "text/plain", "Location: http://127.0.0.1:1/elsewhere\r\n")
        raise ValueError(f"unknown fault {fault!r}")

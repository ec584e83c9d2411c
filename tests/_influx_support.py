"""Test helpers: an InfluxDB 1.x with authentication on, and a loopback HTTP server that records
requests and answers what the test says.

Not a stand-in for InfluxDB 1.x (the real one runs in the other tests): it is there to check what
goes over the wire (paths, query strings, auth headers, gzip) and to play InfluxDB 2.x/3.x, which
is not installed here.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from runtime.local_servers import InfluxDB


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    raw_body: bytes

    @property
    def body(self) -> bytes:
        """The body as sent before Content-Encoding."""
        if self.headers.get("content-encoding") == "gzip":
            return gzip.decompress(self.raw_body)
        return self.raw_body


@dataclass
class CaptureServer:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    # (status, JSON body or None) answered to the next requests; the last one repeats
    answers: list[tuple[int, Any]] = field(default_factory=lambda: [(204, None)])

    def answer(self, status: int, doc: Any = None) -> None:
        self.answers[:] = [(status, doc)]


def serve_capture() -> Iterator[CaptureServer]:
    server_box: dict[str, CaptureServer] = {}

    class Handler(BaseHTTPRequestHandler):
        def _handle(self) -> None:
            capture = server_box["s"]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            parts = urlsplit(self.path)
            capture.requests.append(
                Recorded(
                    self.command,
                    parts.path,
                    parse_qs(parts.query),
                    {k.lower(): v for k, v in self.headers.items()},
                    raw,
                )
            )
            status, doc = capture.answers[0] if len(capture.answers) == 1 else capture.answers.pop(0)
            payload = b"" if doc is None else json.dumps(doc).encode()
            self.send_response(status)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload:
                self.wfile.write(payload)

        do_GET = _handle
        do_POST = _handle

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    capture = CaptureServer(f"http://127.0.0.1:{httpd.server_address[1]}")
    server_box["s"] = capture
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield capture
    finally:
        httpd.shutdown()
        httpd.server_close()


class AuthInfluxDB(InfluxDB):
    """The real InfluxDB 1.x with ``[http] auth-enabled = true`` (the fixtures run it open)."""

    def _write_config(self) -> None:
        super()._write_config()
        text = self.config_path.read_text()
        self.config_path.write_text(
            text.replace("[http]\n  enabled = true\n", "[http]\n  enabled = true\n  auth-enabled = true\n")
        )

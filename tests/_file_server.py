"""A tiny HTTP file server on 127.0.0.1 for tests of downloads (no internet needed)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FileServer:
    """Paths -> bytes, with hit counts, optional ETags, truncated or slow answers."""

    files: dict[str, bytes] = field(default_factory=dict)
    etags: dict[str, str] = field(default_factory=dict)
    truncate: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    hits: Counter[str] = field(default_factory=Counter)
    not_modified: Counter[str] = field(default_factory=Counter)
    content_type: str = "application/octet-stream"
    url: str = ""


def _handler(state: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.hits[self.path] += 1
            if self.path in state.slow:
                time.sleep(1.0)
            body = state.files.get(self.path)
            if body is None:
                self.send_error(404, "Not Found")
                return
            etag = state.etags.get(self.path)
            if etag is not None and self.headers.get("If-None-Match") == etag:
                state.not_modified[self.path] += 1
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", state.content_type)
            # A truncated answer promises twice the bytes it sends.
            size = len(body) * 2 if self.path in state.truncate else len(body)
            self.send_header("Content-Length", str(size))
            if etag is not None:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve(state: FileServer) -> Iterator[FileServer]:
    """Serve ``state`` on a free port of 127.0.0.1 (its ``url``) for the block."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)

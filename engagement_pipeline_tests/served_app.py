"""A scored demo warehouse served by a real `engagement-pipeline serve` (uvicorn) on a free port.

Shared by the API and dashboard tests: the demo is scored once per module and backend (it is the slow part),
the server runs in its own process group and is always ended by its pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from engagement_pipeline.config import Settings
from engagement_pipeline.defs.runner import run_pipeline
from engagement_pipeline.report.json_output import pipeline_json

from .conftest import DEMO_ANCHOR

CLI = Path(sys.executable).with_name("engagement-pipeline")
TOKEN = "test-token-" + "x" * 24


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Served:
    base: str
    token: str
    settings: Settings
    score_json: dict[str, Any]
    log_path: Path

    def request(self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str] | None = None,
                auth: bool = True) -> tuple[int, dict[str, str], bytes]:
        sent = dict(headers or {})
        if auth:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=sent)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return resp.status, dict(resp.headers), resp.read()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read()

    def json(self, method: str, path: str, payload: Any = None, **kwargs: Any) -> tuple[int, Any]:
        body = None if payload is None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        status, _, raw = self.request(method, path, body=body, headers=headers, **kwargs)
        return status, json.loads(raw) if raw else None


def multipart(fields: dict[str, str], file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "----engagement-test-boundary"
    parts = []
    for key, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode())
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{file_name}"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@contextlib.contextmanager
def serve_scored_demo(data: Path, demo_dir: Path, db_url: str, *, max_upload_mb: int = 1,
                      earlier: date | None = None) -> Iterator[Served]:
    """Scores the demo into `db_url`, empties the inbox (as the sensor would), and serves it. With `earlier`,
    the files are scored at that date first and the demo anchor is a second scoring (a score history)."""
    shutil.copytree(demo_dir, data, dirs_exist_ok=True)
    env = {**os.environ, "ENGAGEMENT_DATA_DIR": str(data), "ENGAGEMENT_DB_URL": db_url,
           "ENGAGEMENT_API_TOKEN": TOKEN, "ENGAGEMENT_MAX_UPLOAD_MB": str(max_upload_mb)}
    for name in ("ENGAGEMENT_SMTP_HOST", "ENGAGEMENT_INBOX_URL"):
        env.pop(name, None)
    settings = Settings.from_env(env)
    files = sorted((data / "inbox").iterdir())
    if earlier:
        run_pipeline(files, settings=settings, as_of=earlier)
        files = []
    run = run_pipeline(files, settings=settings, as_of=DEMO_ANCHOR)
    doc = json.loads(json.dumps(pipeline_json(run, settings), default=str))
    for path in (data / "inbox").iterdir():
        path.unlink()
    port = free_port()
    log_path = data / "serve.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    served = Served(f"http://127.0.0.1:{port}", TOKEN, settings, doc, log_path)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if served.request("GET", "/healthz", auth=False)[0] == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.time() > deadline:
                raise AssertionError(f"serve did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield served
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

"""The device channel over TLS on the API's own port: uvicorn serves TLS and HTTP and hands the
WebSocket upgrade of ``/device`` to the gateway's protocol, as ``tidings serve`` does in the
clear. A real uvicorn process with a trustme certificate, the ``websockets`` client and httpx."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
import trustme
from websockets.sync.client import connect

from tests.support.servers import Server, free_port

SERVE_TLS = """
import sys
import uvicorn
from tidings.app import build_app
from tidings.config import Settings
from tidings.gateway.transport import socket_class

data_dir, port, cert, key = sys.argv[1:]
app = build_app(Settings(data_dir=data_dir))
uvicorn.run(app, host="127.0.0.1", port=int(port), ssl_certfile=cert, ssl_keyfile=key,
            ws=socket_class(app), log_level="warning")
"""


def test_devices_and_the_api_share_one_tls_port(tmp_path: Path) -> None:
    authority = trustme.CA()
    cert = authority.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(tmp_path / "cert.pem")
    cert.private_key_pem.write_to_path(tmp_path / "key.pem")
    authority.cert_pem.write_to_path(tmp_path / "ca.pem")
    context = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    port = free_port()
    data = Server(f"https://127.0.0.1:{port}", "127.0.0.1", port, tmp_path / "data", None)
    data.create_app("tls", "ONEXTLS000000001")
    files = [str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")]
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_TLS, str(data.data_dir), str(port), *files]
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"{data.url}/healthz", verify=context).status_code == 200
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.2)
        register = {"appId": "ONEXTLS000000001", "workspaceId": "tls", "platform": "android"}
        with connect(f"wss://127.0.0.1:{port}/device", ssl=context, open_timeout=10) as ws:
            ws.send(json.dumps({"type": "register", **register}))
            assert json.loads(ws.recv(timeout=10))["type"] == "registered"
            ws.send('{"type":"ping"}')
            assert json.loads(ws.recv(timeout=10)) == {"type": "pong"}
    finally:
        process.terminate()
        process.wait(timeout=30)

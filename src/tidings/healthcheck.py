"""``python -m tidings.healthcheck``: exit 0 when the local server answers its probe, else 1.

For a container's HEALTHCHECK, where no curl is installed: it asks ``/healthz`` (or ``/readyz``
with ``--ready``) on the port the settings give (flags, ``TIDINGS_PORT``, the config file), on
the loopback address, with the standard library only.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request

from tidings.config import ConfigError, load_settings

TIMEOUT_SECONDS = 3.0


def probe(port: int, path: str) -> tuple[bool, str]:
    """Whether ``GET http://127.0.0.1:{port}{path}`` answers 200, and what was seen."""
    try:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT_SECONDS
        ) as answer:
            return (
                answer.status == 200,
                f"{answer.status} {answer.read(500).decode(errors='replace')}",
            )
    except urllib.error.HTTPError as exc:
        return False, f"{exc.code} {exc.read(500).decode(errors='replace')}"
    except OSError as exc:
        return False, f"no answer: {exc}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tidings.healthcheck", description=__doc__)
    parser.add_argument("--port", type=int, help="the server's port [default: from the settings]")
    parser.add_argument("--ready", action="store_true", help="ask /readyz instead of /healthz")
    args = parser.parse_args(argv)
    try:
        port = args.port or load_settings().port
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    ok, seen = probe(port, "/readyz" if args.ready else "/healthz")
    print(seen.strip())
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

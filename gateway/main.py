"""``frailwatch gateway run``: settings, logging, signals, and the gateway's life cycle."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path


def run(config: Path | None = None) -> int:
    """Run one gateway replica until SIGTERM/SIGINT; then stop intake, flush, acknowledge, disconnect."""
    from pydantic import ValidationError

    from gateway.settings import load

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per write otherwise
    try:
        settings = load(config)
    except ValidationError as exc:
        # Field and complaint only: the input value could be a secret.
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        print(f"frailwatch gateway: bad setting {where}: {first['msg']}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"frailwatch gateway: bad settings: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    from gateway.replica import Gateway

    gateway = Gateway(settings)
    signal.signal(signal.SIGTERM, lambda *_: gateway.stop())
    signal.signal(signal.SIGINT, lambda *_: gateway.stop())
    gateway.run()
    return 0


if __name__ == "__main__":
    sys.exit(run(Path(sys.argv[1]) if len(sys.argv) > 1 else None))

"""``frailwatch grafana build|push``: regenerate the provisioning tree, or upload to a Grafana.

Only arguments here; the SDK and grafana-client are imported inside the handlers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_OUT = Path(__file__).resolve().parent / "provisioning"


def _build(args: argparse.Namespace) -> int:
    from grafana.provisioning import write_tree

    written = write_tree(Path(args.out), args.lang)
    print(f"wrote {len(written)} files under {args.out} ({args.lang})", file=sys.stderr)
    return 0


def _push(args: argparse.Namespace) -> int:
    from grafana_client.client import GrafanaException

    from grafana.push import connect, push

    try:
        report = push(connect(args.url, args.token), args.lang)
    except ValueError as error:
        print(f"frailwatch grafana push: {error}", file=sys.stderr)
        return 2
    except (GrafanaException, OSError) as error:
        print(f"frailwatch grafana push: {args.url} refused or unreachable: {error}", file=sys.stderr)
        return 1
    print(
        f"pushed {len(report.dashboards)} dashboards, {len(report.rules)} alert rules, "
        f"{len(report.contact_points)} contact points to {args.url}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    grafana = subparsers.add_parser("grafana", help="dashboards and alert rules as code")
    sub = grafana.add_subparsers(dest="grafana_command", required=True)
    build = sub.add_parser("build", help="regenerate the Grafana provisioning tree")
    build.add_argument("--lang", choices=("ko", "en"), default="ko", help="titles and legends (default ko)")
    build.add_argument("--out", default=str(DEFAULT_OUT), help=f"output directory (default {DEFAULT_OUT})")
    build.set_defaults(handler=_build)
    push = sub.add_parser("push", help="upload dashboards and alerting to a running Grafana")
    push.add_argument("--url", required=True, help="Grafana base URL, e.g. http://grafana:3000")
    push.add_argument("--token", required=True, help="service-account token")
    push.add_argument("--lang", choices=("ko", "en"), default="ko")
    push.set_defaults(handler=_push)

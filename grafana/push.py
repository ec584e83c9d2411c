"""Upload dashboards, folders and alerting to a running Grafana over its HTTP API (grafana-client).

For a Grafana that is not provisioned from files (a hosted instance). Idempotent: folders that
exist are kept, dashboards are overwritten by uid, rules are created or updated by uid, the
notification policy tree is replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError
from grafana_foundation_sdk.cog.encoder import JSONEncoder

from grafana import alerting
from grafana.dashboards import DASHBOARDS, build_all
from grafana.provisioning import dashboard_json
from grafana.texts import Lang, text


@dataclass
class PushReport:
    folders: list[str] = field(default_factory=list)
    dashboards: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    contact_points: list[str] = field(default_factory=list)


def connect(url: str, token: str, timeout: float = 10.0) -> GrafanaApi:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ValueError(f"not a Grafana URL: {url!r} (expected http(s)://host[:port])")
    api = GrafanaApi.from_url(url, credential=token, timeout=timeout)
    # Loopback and internal Grafanas must not be sent through an HTTP proxy from the environment.
    api.client.s.trust_env = False
    return api


def _exists(error: GrafanaClientError) -> bool:
    return error.status_code in (409, 412) or (error.status_code == 400 and "exist" in str(error).lower())


def push(api: GrafanaApi, lang: Lang) -> PushReport:
    report = PushReport()
    for key, uid in alerting.FOLDER_UIDS.items():
        try:
            api.folder.create_folder(text(key, lang), uid=uid)
        except GrafanaClientError as error:
            if not _exists(error):
                raise
        report.folders.append(uid)
    for name, board in build_all(lang).items():
        body: dict[str, Any] = {
            "dashboard": json.loads(dashboard_json(board)),
            "folderUid": alerting.FOLDER_UIDS[DASHBOARDS[name].folder],
            "overwrite": True,
            "message": "frailwatch grafana push",
        }
        api.dashboard.update_dashboard(body)
        report.dashboards.append(DASHBOARDS[name].uid)
    existing = {rule["uid"] for rule in api.alertingprovisioning.get_alertrules_all() or []}
    for rule in alerting.rules_api(lang):
        if rule["uid"] in existing:
            api.alertingprovisioning.update_alertrule(rule["uid"], rule)
        else:
            api.alertingprovisioning.create_alertrule(rule)
        report.rules.append(rule["uid"])
    known_points = {point.get("uid") for point in api.alertingprovisioning.get_contactpoints() or []}
    for point in alerting.contact_points():
        body = json.loads(JSONEncoder().encode(point.build()))
        if body["uid"] in known_points:
            api.alertingprovisioning.update_contactpoint(body["uid"], body)
        else:
            api.alertingprovisioning.create_contactpoint(body)
        report.contact_points.append(body["uid"])
    timing = alerting.opening_hours()
    known_timings = {t.get("name") for t in api.alertingprovisioning.get_mute_timings() or []}
    if timing["name"] in known_timings:
        api.alertingprovisioning.update_mute_timing(timing["name"], timing)
    else:
        api.alertingprovisioning.create_mute_timing(timing)
    policy = alerting.policies_file()["policies"][0]
    api.alertingprovisioning.set_notification_policy_tree({k: v for k, v in policy.items() if k != "orgId"})
    return report

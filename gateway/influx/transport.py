"""Two ways to reach InfluxDB behind one synchronous, thread-safe interface.

- :class:`V1Transport`: the v1 HTTP API (``/write``, ``/query``, ``/ping``), served by InfluxDB
  1.x, by 2.x (≥ 2.5 with virtual DBRP mappings) and by 3.x. Auth per version (architecture: "Scale"):
  1.x takes user/password (sent as HTTP Basic, never as ``u``/``p`` in the URL where logs would
  see it) and rejects a ``Token`` header; 2.x takes ``Authorization: Token …``; 3.x takes either.
- :class:`V2Transport`: the v2 write API (``/api/v2/write``) through ``influxdb-client`` for
  2.x/3.x deployments; reads still go through the v1-compatible ``/query`` with the token, since
  dashboards and decline detection speak InfluxQL everywhere.

Each ``write`` is one attempt. Failures are sorted by whose fault they are:
:class:`WriteRejected` (the data: bad line protocol, field type conflict, too large) must not be
retried; :class:`InfluxUnavailable` (timeouts, refused connections, 5xx, 429, and also 401/403/404,
which are configuration or a missing database, never a particular point's fault) is retried by the
writer without acknowledging anything. Secrets never appear in exceptions, reprs or logs.
Loopback/intranet only: environment proxies are ignored (``trust_env=False``).
"""

from __future__ import annotations

import gzip as gzip_module
import json
import os
from collections.abc import Mapping
from typing import Any, Literal, Protocol, cast, runtime_checkable

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = [
    "InfluxError",
    "InfluxSettings",
    "InfluxTransport",
    "InfluxUnavailable",
    "QueryError",
    "V1Transport",
    "V2Transport",
    "WriteRejected",
    "make_transport",
]

MAX_MESSAGE = 1000  # InfluxDB quotes the offending line; keep exceptions and dead letters bounded
_MAX_GET_QUERY = 2000  # longer InfluxQL (many statements) goes as a POST form: URLs have length limits
GZIP_LEVEL = 1  # line protocol compresses ~10x even at level 1; higher levels cost CPU for little
# Statuses that are not the data's fault: retry (and alert) instead of dead-lettering every message.
_NOT_THE_DATA = frozenset({401, 403, 404, 408, 429})


class InfluxError(Exception):
    """Base of the errors below."""


class WriteRejected(InfluxError):
    """InfluxDB refused the data itself (4xx): do not retry; dead-letter it with ``message``."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message[:MAX_MESSAGE]
        super().__init__(f"InfluxDB rejected the write ({status}): {self.message}")


class InfluxUnavailable(InfluxError):
    """InfluxDB could not take the write now (timeout, connection, 5xx, 429, auth/database): retry."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        self.status = status
        self.reason = reason[:MAX_MESSAGE]
        super().__init__(self.reason if status is None else f"({status}) {self.reason}")


class QueryError(InfluxError):
    """An InfluxQL statement failed (syntax, unknown database, ...)."""


@runtime_checkable
class InfluxTransport(Protocol):
    """Thread-safe, synchronous access to one database (1.x) or bucket (2.x/3.x)."""

    def write(self, body: bytes, retention_policy: str | None = None) -> None:
        """One attempt at writing line protocol (ns precision); raises WriteRejected or InfluxUnavailable.

        ``retention_policy`` overrides the transport's own for this write (v1: ``rp=``; v2: the
        bucket mapped to it)."""
        ...

    def query(self, influxql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """InfluxQL read; rows with "time" (int ns), the columns, and the tags when GROUP BY."""
        ...

    def ping(self) -> bool: ...

    def close(self) -> None: ...


class InfluxSettings(BaseModel):
    """Where and how to write; also read from ``FRAILWATCH_GATEWAY_INFLUX_*`` by :meth:`from_env`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1, 2] = Field(default=1, description="1: v1 HTTP API (1.x, 2.x ≥ 2.5, 3.x); 2: v2 API")
    url: str = "http://127.0.0.1:8086"
    database: str = "frailwatch"
    retention_policy: str | None = Field(default=None, description="None: the database's default RP")
    username: str | None = None
    password: SecretStr | None = None
    org: str | None = None
    bucket: str | None = Field(default=None, description="v2 bucket; default: the database name")
    token: SecretStr | None = Field(default=None, description="2.x/3.x token (v1 API: Authorization: Token)")
    timeout_s: float = Field(default=10.0, gt=0)
    gzip: bool = True

    @field_validator("version", mode="before")
    @classmethod
    def _version_from_text(cls, value: Any) -> Any:
        # environment and TOML strings: "2" means 2 (Literal[1, 2] alone accepts only the int)
        return int(value) if isinstance(value, str) and value.strip().isdigit() else value

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        prefix: str = "FRAILWATCH_GATEWAY_INFLUX_",
        **overrides: Any,
    ) -> InfluxSettings:
        """Settings from the environment (``<prefix>URL``, ``<prefix>DATABASE``, ...); ``overrides`` win
        where they are not None."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(prefix + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls.model_validate(values)


def _gzip(body: bytes) -> bytes:
    return gzip_module.compress(body, compresslevel=GZIP_LEVEL)


def _error_text(response: httpx.Response) -> str:
    """InfluxDB's own message: 1.x {"error": ...}, 2.x/3.x {"code":..., "message": ...}."""
    try:
        doc = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(doc, dict):
        for key in ("error", "message"):
            if isinstance(doc.get(key), str):
                return str(doc[key])
    return response.text.strip()


def _raise_for_write(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    message = _error_text(response)
    if "retention policy not found" in message:
        # Not the data's fault: the database lacks the schema's policies (ops, ...).
        message += " (create the schema's retention policies: frailwatch influx init)"
    if status >= 500 or status in _NOT_THE_DATA:
        raise InfluxUnavailable(f"InfluxDB answered {status}: {message}", status)
    if 400 <= status < 500:
        raise WriteRejected(status, message)
    raise InfluxUnavailable(f"unexpected answer {status}: {message}", status)


def rows_per_statement(doc: Mapping[str, Any]) -> list[list[dict[str, Any]]]:
    """An InfluxQL JSON answer as one list of row dicts per statement (series flattened, tags added
    to their rows), in statement order; raise QueryError."""
    if "error" in doc:
        raise QueryError(str(doc["error"])[:MAX_MESSAGE])
    answers: list[list[dict[str, Any]]] = []
    for statement in doc.get("results", []):
        if "error" in statement:
            raise QueryError(str(statement["error"])[:MAX_MESSAGE])
        rows: list[dict[str, Any]] = []
        for series in statement.get("series", []):
            columns = series["columns"]
            tags = series.get("tags") or {}
            for values in series.get("values", []):
                row = dict(zip(columns, values, strict=True))
                row.update(tags)
                rows.append(row)
        answers.append(rows)
    return answers


class _V1Http:
    """The v1-compatible endpoints over one pooled httpx client (thread-safe)."""

    def __init__(
        self,
        url: str,
        database: str,
        *,
        username: str | None,
        password: SecretStr | str | None,
        token: SecretStr | str | None,
        timeout_s: float,
    ) -> None:
        self.url = url.rstrip("/")
        self.database = database
        headers = {"User-Agent": "frailwatch-gateway"}
        auth: httpx.BasicAuth | None = None
        if token is not None:
            secret = token.get_secret_value() if isinstance(token, SecretStr) else token
            headers["Authorization"] = f"Token {secret}"
        elif username is not None:
            secret = password.get_secret_value() if isinstance(password, SecretStr) else (password or "")
            auth = httpx.BasicAuth(username, secret)
        self._client = httpx.Client(
            base_url=self.url,
            headers=headers,
            auth=auth,
            timeout=httpx.Timeout(timeout_s),
            trust_env=False,  # loopback/intranet: never route through an environment proxy
        )

    def request(
        self, method: str, path: str, *, params: Mapping[str, str], content: bytes | None = None, **kw: Any
    ) -> httpx.Response:
        try:
            return self._client.request(method, path, params=params, content=content, **kw)
        except httpx.TimeoutException as exc:
            raise InfluxUnavailable(f"InfluxDB at {self.url} timed out ({type(exc).__name__})") from None
        except httpx.HTTPError as exc:
            raise InfluxUnavailable(
                f"InfluxDB at {self.url} unreachable ({type(exc).__name__}: {exc})"
            ) from None

    def query(
        self,
        influxql: str,
        params: Mapping[str, Any] | None = None,
        *,
        method: Literal["GET", "POST"] = "GET",
    ) -> list[dict[str, Any]]:
        return [row for rows in self.query_each(influxql, params, method=method) for row in rows]

    def query_each(
        self,
        influxql: str,
        params: Mapping[str, Any] | None = None,
        *,
        method: Literal["GET", "POST"] = "GET",
    ) -> list[list[dict[str, Any]]]:
        """Rows per statement of ``influxql``."""
        form = {"q": influxql, "db": self.database, "epoch": "ns"}
        if params:
            form["params"] = json.dumps(dict(params))
        if method == "GET" and len(influxql) <= _MAX_GET_QUERY:
            response = self.request("GET", "/query", params=form)
        else:
            response = self.request("POST", "/query", params={}, data=form)
        if response.status_code >= 500 or response.status_code in (401, 403, 429):
            raise InfluxUnavailable(f"query answered {response.status_code}: {_error_text(response)}")
        try:
            doc = response.json()
        except ValueError:
            raise QueryError(f"query answered {response.status_code}: {response.text[:200]}") from None
        answers = rows_per_statement(doc)  # a statement's own error says more than the status
        if response.status_code >= 400:
            raise QueryError(f"query answered {response.status_code}: {_error_text(response)}")
        return answers

    def ping(self) -> bool:
        try:
            return self.request("GET", "/ping", params={}).status_code == 204
        except InfluxUnavailable:
            return False

    def close(self) -> None:
        self._client.close()


class V1Transport:
    """Writes and reads through the v1 HTTP API (InfluxDB 1.x, 2.x ≥ 2.5, 3.x)."""

    def __init__(
        self,
        url: str,
        database: str,
        username: str | None = None,
        password: SecretStr | str | None = None,
        retention_policy: str | None = None,
        gzip: bool = True,
        timeout_s: float = 10.0,
        *,
        token: SecretStr | str | None = None,
    ) -> None:
        self.gzip = gzip
        self._http = _V1Http(
            url, database, username=username, password=password, token=token, timeout_s=timeout_s
        )
        self._write_params = {"db": database, "precision": "ns"}
        if retention_policy:
            self._write_params["rp"] = retention_policy
        self._write_headers = {"Content-Type": "text/plain; charset=utf-8"}
        if gzip:
            self._write_headers["Content-Encoding"] = "gzip"

    def __repr__(self) -> str:
        return f"V1Transport(url={self._http.url!r}, database={self._http.database!r}, gzip={self.gzip})"

    @property
    def url(self) -> str:
        return self._http.url

    @property
    def database(self) -> str:
        return self._http.database

    def write(self, body: bytes, retention_policy: str | None = None) -> None:
        content = _gzip(body) if self.gzip else body
        params = (
            self._write_params if not retention_policy else {**self._write_params, "rp": retention_policy}
        )
        response = self._http.request(
            "POST", "/write", params=params, content=content, headers=self._write_headers
        )
        _raise_for_write(response)

    def query(self, influxql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._http.query(influxql, params)

    def query_each(self, influxql: str) -> list[list[dict[str, Any]]]:
        """Rows per statement of a multi-statement InfluxQL read."""
        return self._http.query_each(influxql)

    def execute(self, influxql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        """A statement that changes things (CREATE, ALTER, DROP): POST, as InfluxDB 1.x requires."""
        return self._http.query(influxql, params, method="POST")

    def ping(self) -> bool:
        return self._http.ping()

    def close(self) -> None:
        self._http.close()


class V2Transport:
    """Writes through the v2 API with ``influxdb-client`` (2.x/3.x); reads through v1-compat ``/query``."""

    def __init__(
        self,
        url: str,
        org: str,
        bucket: str,
        token: SecretStr | str,
        gzip: bool = True,
        timeout_s: float = 10.0,
        *,
        database: str | None = None,
        rp_buckets: Mapping[str, str] | None = None,
    ) -> None:
        from influxdb_client import InfluxDBClient
        from influxdb_client.client.write_api import SYNCHRONOUS

        secret = token.get_secret_value() if isinstance(token, SecretStr) else token
        self.org = org
        self.bucket = bucket
        # A write for retention policy X goes to rp_buckets[X], else to "<database>/<X>", the name
        # InfluxDB 2.x gives the bucket of a virtual DBRP mapping for database/X.
        self.rp_buckets = dict(rp_buckets or {})
        self._database = database or bucket
        self.gzip = gzip
        # retries=False: one attempt per call; the BatchWriter owns retrying (and the stats of it).
        self._client = InfluxDBClient(
            url=url, token=secret, org=org, enable_gzip=gzip, timeout=int(timeout_s * 1000), retries=False
        )
        self._write_api = self._client.write_api(write_options=SYNCHRONOUS)
        self._http = _V1Http(
            url, database or bucket, username=None, password=None, token=secret, timeout_s=timeout_s
        )

    def __repr__(self) -> str:
        return (
            f"V2Transport(url={self._http.url!r}, org={self.org!r}, bucket={self.bucket!r}, gzip={self.gzip})"
        )

    def bucket_for(self, retention_policy: str | None) -> str:
        if not retention_policy:
            return self.bucket
        return self.rp_buckets.get(retention_policy, f"{self._database}/{retention_policy}")

    def write(self, body: bytes, retention_policy: str | None = None) -> None:
        import urllib3.exceptions
        from influxdb_client.client.write_api import WritePrecision
        from influxdb_client.rest import ApiException

        try:
            self._write_api.write(
                bucket=self.bucket_for(retention_policy),
                org=self.org,
                record=body,
                write_precision=cast(Any, WritePrecision.NS),
            )
        except ApiException as exc:
            status = int(exc.status or 0)
            message = _api_message(exc)
            if status >= 500 or status in _NOT_THE_DATA or status == 0:
                raise InfluxUnavailable(f"InfluxDB answered {status}: {message}", status) from None
            raise WriteRejected(status, message) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise InfluxUnavailable(
                f"InfluxDB at {self._http.url} unreachable ({type(exc).__name__})"
            ) from None

    def query(self, influxql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._http.query(influxql, params)

    def query_each(self, influxql: str) -> list[list[dict[str, Any]]]:
        """Rows per statement of a multi-statement InfluxQL read."""
        return self._http.query_each(influxql)

    def ping(self) -> bool:
        return self._http.ping()

    def close(self) -> None:
        self._write_api.close()
        self._client.close()
        self._http.close()


def _api_message(exc: Exception) -> str:
    body = getattr(exc, "body", None)
    if body:
        try:
            doc = json.loads(body)
            if isinstance(doc, dict) and isinstance(doc.get("message"), str):
                return str(doc["message"])
        except (ValueError, TypeError):
            pass
        return str(body)[:MAX_MESSAGE]
    return str(getattr(exc, "reason", "") or type(exc).__name__)


def make_transport(settings: InfluxSettings) -> V1Transport | V2Transport:
    """The transport ``settings.version`` asks for."""
    if settings.version == 2:
        if settings.token is None or not settings.org:
            raise ValueError("InfluxDB v2 API needs org and token (FRAILWATCH_GATEWAY_INFLUX_ORG / _TOKEN)")
        return V2Transport(
            settings.url,
            settings.org,
            settings.bucket or settings.database,
            settings.token,
            gzip=settings.gzip,
            timeout_s=settings.timeout_s,
            database=settings.database,
        )
    return V1Transport(
        settings.url,
        settings.database,
        username=settings.username,
        password=settings.password,
        retention_policy=settings.retention_policy,
        gzip=settings.gzip,
        timeout_s=settings.timeout_s,
        token=settings.token,
    )

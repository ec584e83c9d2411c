"""The station page: a Starlette application over the station store, for staff on the station box.

Requests pass :class:`Guard` first (a session for every visitor, the security headers, no caching
of pages that carry names). Then, in the order a counsellor meets them:

- ``/login`` (local staff accounts, :mod:`edge.page.accounts`), ``/logout``, ``/lang/<ko|en>``;
- ``/visits?day=`` — the visits of a station-local day (today by default);
- ``/visits/<pseudonym>/<visit>`` — one visit: the station's own measurements at once, the
  central result (bands in plain words, scores, comparison, trend chart) when it has arrived,
  and the participant's cases with the counsellor's actions; ``.../print`` is the A4 report;
  ``.../state`` is a small JSON token the page polls while the result is pending;
- ``POST /cases/<case>/<acknowledge|prescribe|follow-up|resolve>`` — an action, validated by
  :func:`edge.case_actions.act`, handed to ``submit`` (the agent spools it for the uplink);
- ``/follow-up`` — overdue follow-ups and the station's opened → linked → followed-up counts.

Every form carries the session's CSRF token (checked in constant time, and a cross-site Origin
is refused too); a refused form is shown again with a clear message and nothing is recorded.
Names are resolved here, on the station box only: pseudonym → member id (the agent's pseudonym
table) → name (the station roster).
"""

from __future__ import annotations

import datetime as dt
import hmac
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from edge.case_actions import ActionRefused, LocalCase, act, prescription_from_form
from edge.page import texts
from edge.page.accounts import Accounts, Session
from edge.page.chart import Series, trend_svg
from edge.page.followup import cached, funnel, overdue
from edge.pseudonyms import PseudonymStore
from edge.settings import EdgeSettings
from edge.spool import SpoolFull
from edge.station_store import StationStore, VisitRow
from telemetry.cases import CaseEvent, CaseEventKind, CaseState, ResolveReason
from telemetry.pseudonym import PSEUDONYM_RE
from telemetry.results import KEY_METRICS, CutoffBand, VisitResult

HERE = Path(__file__).parent
COOKIE = "fw_station_session"
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{7,63}$")
_BACK_RE = re.compile(r"^/visits/([0-9a-f]{32})/([A-Za-z0-9][A-Za-z0-9_.:-]{7,63})$")
ACTIONS = {
    "acknowledge": CaseEventKind.ACKNOWLEDGED,
    "prescribe": CaseEventKind.PRESCRIBED,
    "follow-up": CaseEventKind.FOLLOW_UP_SET,
    "resolve": CaseEventKind.RESOLVED,
}
MAX_NOTE = 280
# Result measures the print report lists (the rest are on the screen).
PRINTED = ("grip_max_kg", "gait_speed_mps", "chair_stand_5x_s", "tug_time_s", "asmi_kg_m2")
# Station-local values the visit page lists before the result arrives, in this order.
LOCAL_KEYS = (
    "grip_max_kg",
    "gait_speed_mps",
    "walk_time_s",
    "walk_distance_m",
    "chair_stand_5x_s",
    "side_by_side_s",
    "semi_tandem_s",
    "tandem_s",
    "tug_time_s",
    "asmi_kg_m2",
    "weight_kg",
    "height_cm",
    "bmi_kg_m2",
)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self';"
    " script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Submit = Callable[[CaseEvent], bool]


class Guard(BaseHTTPMiddleware):
    """A session for every visitor (made on first sight, its cookie set on the way out), and the
    security headers on every response."""

    def __init__(self, app: Any, page: StationPage) -> None:
        super().__init__(app)
        self.page = page

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        accounts = self.page.accounts
        session = accounts.session(request.cookies.get(COOKIE))
        fresh = session is None
        if session is None:
            session = accounts.new_session(self.page.settings.page_language)
        request.state.session = session
        response = await call_next(request)
        current: Session = request.state.session
        if fresh or current.token != session.token:
            self.page.set_cookie(response, current.token)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


@dataclass(frozen=True, slots=True)
class Person:
    member_id: str | None
    name: str | None


class StationPage:
    def __init__(
        self,
        *,
        settings: EdgeSettings,
        store: StationStore,
        pseudonyms: PseudonymStore,
        accounts: Accounts,
        submit: Submit,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.settings = settings
        self.store = store
        self.pseudonyms = pseudonyms
        self.accounts = accounts
        self.submit = submit
        self.clock = clock
        self.tz = ZoneInfo(settings.page_timezone)
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(number=texts.number, with_unit=texts.with_unit, word=texts.word)

    # --- application -------------------------------------------------------------------------
    def app(self) -> Starlette:
        routes = [
            Route("/", self.home),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/lang/{code}", self.set_lang),
            Route("/visits", self.visits),
            Route("/visits/state", self.visits_state),
            Route("/visits/{participant}/{ref}", self.visit),
            Route("/visits/{participant}/{ref}/state", self.visit_state),
            Route("/visits/{participant}/{ref}/print", self.report),
            Route("/cases/{case_id}/{action}", self.case_action, methods=["POST"]),
            Route("/follow-up", self.follow_up),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ]
        return Starlette(
            routes=routes,
            middleware=[Middleware(Guard, page=self)],
            exception_handlers={HTTPException: self.error},  # type: ignore[dict-item]
        )

    def set_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(
            COOKIE,
            token,
            max_age=int(self.settings.page_session_hours * 3600),
            httponly=True,
            samesite="strict",
            secure=self.settings.page_cookie_secure,
            path="/",
        )

    # --- helpers -----------------------------------------------------------------------------
    def _context(self, request: Request, **extra: Any) -> dict[str, Any]:
        session: Session = request.state.session
        lang = session.lang
        return {
            "lang": lang,
            "t": lambda key, **kw: texts.t(lang, key, **kw),
            "session": session,
            "csrf": session.csrf,
            "station": self.settings.station_id,
            "path": request.url.path,
            "nonce": lambda: secrets.token_hex(16),
            **extra,
        }

    def _render(self, request: Request, template: str, status: int = 200, **extra: Any) -> Response:
        return self.templates.TemplateResponse(
            request, template, self._context(request, **extra), status_code=status
        )

    def _login_redirect(self, request: Request) -> Response | None:
        session: Session = request.state.session
        if session.username is not None:
            return None
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    async def _form(self, request: Request) -> FormData:
        """The POSTed form, after the CSRF token and the Origin are checked."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and urlsplit(origin).netloc != request.headers.get("host"):
            raise HTTPException(403, "cross-site request")
        form = await request.form(max_files=0, max_fields=16, max_part_size=4096)
        session: Session = request.state.session
        sent = str(form.get("csrf", ""))
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise HTTPException(403, "csrf")
        return form

    def person(self, participant: str) -> Person:
        member = self.pseudonyms.whois(participant)
        return Person(member, None if member is None else self.store.name_of(member))

    def today(self) -> dt.date:
        return self.clock().astimezone(self.tz).date()

    def local_day(self, at: dt.datetime) -> dt.date:
        return at.astimezone(self.tz).date()

    def local(self, at: dt.datetime) -> dt.datetime:
        return at.astimezone(self.tz)

    async def error(self, request: Request, exc: HTTPException) -> Response:
        session: Session | None = getattr(request.state, "session", None)
        lang = session.lang if session else self.settings.page_language
        key = {403: "forbidden", 404: "not_found"}.get(exc.status_code, "error")
        if session is None:
            return Response(texts.t(lang, key), status_code=exc.status_code)
        return self._render(request, "error.html", status=exc.status_code, message=texts.t(lang, key))

    # --- login ---------------------------------------------------------------------------------
    async def home(self, request: Request) -> Response:
        return RedirectResponse("/visits", status_code=303)

    async def login_form(self, request: Request) -> Response:
        return self._render(request, "login.html", next=_safe_next(request.query_params.get("next")))

    async def login(self, request: Request) -> Response:
        form = await self._form(request)
        username, password = str(form.get("username", ""))[:32], str(form.get("password", ""))[:256]
        target = _safe_next(str(form.get("next", "")))
        old: Session = request.state.session
        if not self.accounts.authenticate(username, password):
            return self._render(
                request, "login.html", status=401, failed=True, next=target, username=username
            )
        self.accounts.end(old.token)  # a fresh session on login: no fixation
        request.state.session = self.accounts.new_session(old.lang, username)
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        await self._form(request)
        old: Session = request.state.session
        self.accounts.end(old.token)
        request.state.session = self.accounts.new_session(old.lang)
        return RedirectResponse("/login", status_code=303)

    async def set_lang(self, request: Request) -> Response:
        code = request.path_params["code"]
        if code not in texts.LANGS:
            raise HTTPException(404)
        session: Session = request.state.session
        self.accounts.set_lang(session.token, code)
        return RedirectResponse(_safe_next(request.query_params.get("next")), status_code=303)

    # --- visits of a day -------------------------------------------------------------------------
    def _day(self, request: Request) -> dt.date:
        raw = request.query_params.get("day")
        if not raw:
            return self.today()
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise HTTPException(404) from None

    def _visits_on(self, day: dt.date) -> list[VisitRow]:
        start = dt.datetime.combine(day, dt.time(0), self.tz)
        return self.store.visits_between(start, start + dt.timedelta(days=1))

    async def visits(self, request: Request) -> Response:
        if (redirect := self._login_redirect(request)) is not None:
            return redirect
        day = self._day(request)
        rows = []
        for visit in self._visits_on(day):
            cases = [c for c in self.store.cases_for(visit.participant) if c.open]
            rows.append({"visit": visit, "person": self.person(visit.participant), "cases": len(cases)})
        latest = None
        if not rows:
            before = self.store.last_visit_day(dt.datetime.combine(day, dt.time(0), self.tz))
            latest = None if before is None else self.local(before).date()
        return self._render(
            request,
            "visits.html",
            day=day,
            rows=rows,
            latest=latest,
            prev_day=day - dt.timedelta(days=1),
            next_day=day + dt.timedelta(days=1),
            is_today=day == self.today(),
            local=self.local,
            poll=f"/visits/state?day={day.isoformat()}",
            token=self._day_token(day),
        )

    def _day_token(self, day: dt.date) -> str:
        visits = self._visits_on(day)
        return f"{len(visits)}:{sum(v.has_result for v in visits)}:{sum(len(v.kinds) for v in visits)}"

    async def visits_state(self, request: Request) -> Response:
        if (request.state.session).username is None:
            raise HTTPException(403)
        return JSONResponse({"token": self._day_token(self._day(request))})

    # --- one visit -------------------------------------------------------------------------------
    def _visit_key(self, request: Request) -> tuple[str, str]:
        participant, ref = request.path_params["participant"], request.path_params["ref"]
        if not PSEUDONYM_RE.fullmatch(participant) or not _REF_RE.fullmatch(ref):
            raise HTTPException(404)
        return participant, ref

    def _visit_token(self, participant: str, ref: str) -> str:
        result = self.store.result(participant, ref)
        stamp = "" if result is None else result.processed_at.isoformat()
        return f"{len(self.store.measurements(participant, ref))}:{stamp}"

    async def visit_state(self, request: Request) -> Response:
        if (request.state.session).username is None:
            raise HTTPException(403)
        participant, ref = self._visit_key(request)
        return JSONResponse({"token": self._visit_token(participant, ref)})

    def _visit_view(self, participant: str, ref: str, lang: str) -> dict[str, Any]:
        result = self.store.result(participant, ref)
        measurements = self.store.measurements(participant, ref)
        if result is None and not measurements:
            raise HTTPException(404)
        rows: list[dict[str, Any]] = []
        if result is not None:
            for m in result.measures:
                rows.append(
                    {
                        "metric": m.metric,
                        "value": texts.with_unit(m.value, m.metric, lang),
                        "meaning": texts.word("MEANINGS", m.metric, lang),
                        "bands": texts.explain_measure(m, result.sex, lang),
                        "uncertain": m.uncertain,
                    }
                )
        else:
            local: dict[str, Any] = {}
            for reading in measurements:
                local.update(reading.values)
            for key in LOCAL_KEYS:
                if key in local:
                    rows.append(
                        {
                            "metric": key,
                            "value": texts.with_unit(local[key], key, lang),
                            "meaning": texts.word("MEANINGS", key, lang),
                            "bands": [],
                            "uncertain": False,
                        }
                    )
        times = [m.measured_at for m in measurements] or ([result.at] if result else [])
        cases = sorted(self.store.cases_for(participant), key=lambda c: (not c.open, c.opened_at))
        return {
            "participant": participant,
            "ref": ref,
            "person": self.person(participant),
            "result": result,
            "rows": rows,
            "scores": None if result is None else texts.explain_scores(result.scores, lang),
            "missing": {} if result is None else result.scores.missing,
            "comparisons": []
            if result is None
            else [(c.metric, texts.explain_comparison(c, lang)) for c in result.comparisons],
            "chart": self._chart(participant, result, measurements, lang),
            "history": self._history(participant, result),
            "measurements": measurements,
            "first_at": self.local(min(times)),
            "last_at": self.local(max(times)),
            "cases": cases,
            "follow_up": min((c.follow_up_on for c in cases if c.open and c.follow_up_on), default=None),
            "programmes": self.settings.programmes,
            "reasons": [r.value for r in ResolveReason],
            "token": self._visit_token(participant, ref),
            "today": self.today(),
            "local": self.local,
        }

    def _latest_result(self, participant: str, result: VisitResult | None) -> VisitResult | None:
        if result is not None:
            return result
        earlier = self.store.results_for(participant)
        return earlier[-1] if earlier else None

    def _history(self, participant: str, result: VisitResult | None) -> list[Any]:
        latest = self._latest_result(participant, result)
        return [] if latest is None else list(latest.history)

    def _chart(
        self,
        participant: str,
        result: VisitResult | None,
        measurements: list[Any],
        lang: str,
        printed: bool = False,
    ) -> str:
        """The trend over the result's history; while pending, over the latest earlier result's
        history plus today's station-local values (drawn hollow: not scored yet). ``printed``:
        one row of at most three panels, those with a trend first, so the report fits one page."""
        latest = self._latest_result(participant, result)
        history = [] if latest is None else list(latest.history)
        cutoffs: dict[str, float] = {}
        if latest is not None:
            for m in latest.measures:
                for b in m.bands:
                    if isinstance(b, CutoffBand) and b.reference.value in ("awgs_2019", "tug_fall_risk"):
                        cutoffs.setdefault(m.metric, b.cutoff)
            if latest.scores.sppb is not None:
                cutoffs["sppb_total"] = latest.scores.sppb.low_performance_cutoff
        local: dict[str, float] = {}
        if result is None:
            for m in measurements:
                local.update(
                    {k: v for k, v in m.values.items() if k in KEY_METRICS and not isinstance(v, bool)}
                )
        series = []
        for metric in KEY_METRICS:
            points = [(h.at, h.values[metric]) for h in history if metric in h.values]
            provisional = metric in local and bool(measurements)
            if provisional:
                points.append((max(m.measured_at for m in measurements), float(local[metric])))
            series.append(Series(metric, points, cutoffs.get(metric), provisional_last=provisional))
        if printed:
            series = sorted((s for s in series if s.points), key=lambda s: len(s.points) < 2)[:3]
        return trend_svg(series, lang, self.tz)

    async def visit(self, request: Request, status: int = 200, **extra: Any) -> Response:
        if (redirect := self._login_redirect(request)) is not None:
            return redirect
        participant, ref = self._visit_key(request)
        session: Session = request.state.session
        view = self._visit_view(participant, ref, session.lang)
        return self._render(
            request,
            "visit.html",
            status=status,
            done=request.query_params.get("done") == "1",
            poll=f"/visits/{participant}/{ref}/state",
            **view,
            **extra,
        )

    async def report(self, request: Request) -> Response:
        if (redirect := self._login_redirect(request)) is not None:
            return redirect
        participant, ref = self._visit_key(request)
        session: Session = request.state.session
        view = self._visit_view(participant, ref, session.lang)
        view["rows"] = (
            [r for r in view["rows"] if r["metric"] in PRINTED] if view["result"] else view["rows"][:6]
        )
        measurements = self.store.measurements(participant, ref)
        view["chart"] = self._chart(participant, view["result"], measurements, session.lang, printed=True)
        return self._render(request, "report.html", **view)

    # --- case actions --------------------------------------------------------------------------
    async def case_action(self, request: Request) -> Response:
        if (redirect := self._login_redirect(request)) is not None:
            return redirect
        form = await self._form(request)
        session: Session = request.state.session
        back = str(form.get("back", ""))
        match = _BACK_RE.fullmatch(back)
        action = request.path_params["action"]
        kind = ACTIONS.get(action)
        if match is None or kind is None:
            raise HTTPException(404)
        case_id = request.path_params["case_id"]
        try:
            case = self.store.case(case_id)
            if case is None or case.participant != match.group(1):
                raise ActionRefused("unknown_case", "unknown case")
            event = self._event(case, kind, form, session)
            self.submit(event)
        except ActionRefused as refused:
            request.scope["path_params"] = {"participant": match.group(1), "ref": match.group(2)}
            error = {"case_id": case_id, "action": action, "code": refused.code, "field": refused.field}
            return await self.visit(request, status=400, error=error)
        except SpoolFull:
            request.scope["path_params"] = {"participant": match.group(1), "ref": match.group(2)}
            error = {"case_id": case_id, "action": action, "code": "spool_full", "field": ""}
            return await self.visit(request, status=503, error=error)
        return RedirectResponse(f"{back}?done=1#case-{case_id}", status_code=303)

    def _event(self, case: LocalCase, kind: CaseEventKind, form: FormData, session: Session) -> CaseEvent:
        note = str(form.get("note", "")).strip() or None
        if note is not None and len(note) > MAX_NOTE:
            raise ActionRefused("too_long", "note too long", "note")
        nonce = str(form.get("nonce", ""))
        if not re.fullmatch(r"[0-9a-f]{32}", nonce):
            raise ActionRefused("invalid", "form nonce missing", "nonce")
        prescription = reason = follow_up = None
        if kind is CaseEventKind.PRESCRIBED:
            programme = str(form.get("programme", ""))
            if not programme:
                raise ActionRefused("programme_required", "no programme", "programme")
            if programme not in self.settings.programmes:
                raise ActionRefused("unknown_programme", "unknown programme", "programme")
            prescription = prescription_from_form(programme, form.get("health_activist") == "on", note)
            note = None  # the note belongs to the prescription
        elif kind is CaseEventKind.RESOLVED:
            raw = str(form.get("reason", ""))
            if raw not in {r.value for r in ResolveReason}:
                raise ActionRefused("reason_required", "no reason", "reason")
            reason = ResolveReason(raw)
        elif kind is CaseEventKind.FOLLOW_UP_SET:
            raw = str(form.get("follow_up_on", ""))
            if not raw:
                raise ActionRefused("date_required", "no date", "follow_up_on")
            try:
                follow_up = dt.date.fromisoformat(raw)
            except ValueError:
                raise ActionRefused("date_invalid", "bad date", "follow_up_on") from None
        assert session.username is not None
        return act(
            case,
            kind,
            actor=session.username,
            station_id=self.settings.station_id,
            now=self.clock(),
            today=self.today(),
            form_nonce=nonce,
            reason=reason,
            note=note,
            prescription=prescription,
            follow_up_on=follow_up,
        )

    # --- follow-up -----------------------------------------------------------------------------
    async def follow_up(self, request: Request) -> Response:
        if (redirect := self._login_redirect(request)) is not None:
            return redirect
        cases = self.store.all_cases()
        last = cached(self.store.last_visit_at)
        late = overdue(cases, last, self.today(), self.local_day)
        latest_visit = {}
        for item in late:
            results = self.store.results_for(item.case.participant)
            latest_visit[item.case.case_id] = None if not results else results[-1].visit_ref
        return self._render(
            request,
            "followup.html",
            overdue=[(o, self.person(o.case.participant), latest_visit[o.case.case_id]) for o in late],
            funnel=funnel(cases, last, self.local_day),
            open_states=(CaseState.OPEN, CaseState.ACKNOWLEDGED),
            local=self.local,
        )


def _safe_next(target: str | None) -> str:
    """Only a path on this site ("/visits?day=…"), never "//host" or "https://…"."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/visits"
    return target

"""What a demo run produced, as one pydantic model: printed for people, written as summary.json.

Everything here is aggregate or pseudonymous: participants appear only as their HMAC pseudonyms.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from telemetry.envelope import Pseudonym, StationId


class Visit(BaseModel):
    """One participant's key results at one visit (None where the visit lacked the test)."""

    at: AwareDatetime
    station_id: StationId
    gait_speed_mps: float | None = None
    sppb_total: float | None = None
    grip_max_kg: float | None = None


class CaseRecord(BaseModel):
    """One decline case as its events crossed the broker, folded (processing.cases.fold)."""

    case_id: str
    participant: Pseudonym
    domain: str
    state: str
    severity: str = Field(description="the highest it reached")
    station_id: StationId = Field(description="the station of the visit that opened it")
    visit_at: AwareDatetime = Field(description="the visit that opened it")
    opened_at: AwareDatetime = Field(description="when the gateway opened it (processing time)")
    rule: str = Field(
        description="the detection that opened it (changepoint, changepoint:<metric>, cutoff:<metric>)"
    )
    change: dict[str, float] = Field(default_factory=dict, description="change from baseline at opening")
    events: int = Field(description="distinct case events (opened, updated, escalated, ...)")
    simulated: str | None = Field(
        default=None, description="the participant's simulated truth: 'steady' or their decline's kind"
    )
    false_case: bool | None = Field(
        default=None, description="not about a simulated decline (steady, other domain, before the onset)"
    )


class SimulatedPerson(BaseModel):
    """What the simulator's truth says about one participant (under their pseudonym)."""

    pseudonym: Pseudonym
    first_visit: AwareDatetime
    last_visit: AwareDatetime
    visits: int
    decline_kind: str | None = Field(default=None, description="None: steady (edge.simulate.declines)")
    decline_shape: str | None = Field(default=None, description="step or gradual")
    decline_domain: str | None = None
    decline_onset: AwareDatetime | None = None
    decline_reached: float = Field(default=0.0, description="share of the decline reached at the last visit")

    @property
    def label(self) -> str:
        """'steady', or e.g. 'substantial mobility decline (step)'."""
        if self.decline_kind is None:
            return "steady"
        return f"{self.decline_kind.replace('_', ' ')} decline ({self.decline_shape})"


class ParticipantTrend(BaseModel):
    """Visits and cases of one participant with a case: the material of a trend chart."""

    participant: Pseudonym
    sex: str | None = Field(default=None, description="'male'/'female' from the profile, for grip cut-offs")
    visits: list[Visit]
    cases: list[CaseRecord]
    simulated: SimulatedPerson | None = Field(default=None, description="the simulator's truth, if known")


class DeclinerGroup(BaseModel):
    """Simulated decliners of one kind and shape, and how many the detector found."""

    kind: str
    shape: str
    domain: str
    decliners: int
    with_case: int = Field(
        description="with a case in the declining domain, opened at a visit after the onset"
    )
    reached: list[float] = Field(description="share of the decline each had reached at their last visit")


class StationCounts(BaseModel):
    station_id: StationId
    visits: int = 0
    device_messages: int = Field(default=0, description="published by the station's devices")
    measurements_written: int = Field(default=0, description="reading points in InfluxDB")
    cases: int = Field(default=0, description="cases opened at a visit at this station")
    participants_with_case: int = 0
    decliners_with_case: int = Field(default=0, description="a case in their declining domain opened here")
    steady_with_case: int = Field(default=0, description="steady participants with a case opened here")
    faults_injected: int = 0
    dead_letters: int = 0


class UplinkOutage(BaseModel):
    """The one deliberate interruption of the uplink and how the spool drained afterwards."""

    started_at: AwareDatetime
    duration_s: float
    readings_during_outage: int = Field(description="device readings published while the broker was down")
    peak_spool_depth: int = Field(description="largest backlog in all stations' spools after the reconnect")
    drained_after_s: float | None = Field(description="seconds from reconnect to empty spools (None: never)")
    filling: list[tuple[float, int]] = Field(
        default_factory=list, description="(seconds after the broker stopped, total spool depth) as sampled"
    )
    drain: list[tuple[float, int]] = Field(
        default_factory=list, description="(seconds after the reconnect, total spool depth) as sampled"
    )


class Consistency(BaseModel):
    """What the devices sent against what InfluxDB holds, by message id."""

    genuine_messages: int = Field(description="simulated readings: each must be written exactly once")
    readings_written: int = Field(description="reading points in InfluxDB")
    distinct_message_ids: int = Field(description="distinct message ids among those points")
    duplicates: int = Field(description="points beyond one per message id (must be 0)")
    missing: int = Field(description="genuine readings with no point (must be 0)")
    faults_injected: int = Field(description="faulty readings the demo slipped in")
    dead_letters_seen: int = Field(description="dead letters that crossed the central broker")
    dead_letters_stored: int = Field(description="dead_letter points in InfluxDB")
    case_events_seen: int = Field(description="distinct case events that crossed the central broker")
    case_events_stored: int = Field(description="distinct case events (by event id) in InfluxDB")

    @property
    def problems(self) -> list[str]:
        out = []
        if self.duplicates:
            out.append(f"{self.duplicates} readings written more than once")
        if self.missing:
            out.append(f"{self.missing} accepted readings never reached InfluxDB")
        if self.distinct_message_ids != self.genuine_messages:
            out.append(f"{self.distinct_message_ids} readings stored for {self.genuine_messages} sent")
        if self.dead_letters_seen != self.faults_injected:
            out.append(f"{self.dead_letters_seen} dead letters for {self.faults_injected} faulty readings")
        if self.dead_letters_stored != self.dead_letters_seen:
            out.append(f"{self.dead_letters_stored} dead letters stored, {self.dead_letters_seen} seen")
        if self.case_events_stored != self.case_events_seen:
            out.append(f"{self.case_events_stored} case events stored, {self.case_events_seen} seen")
        return out


class PrivacyScan(BaseModel):
    """Raw identifiers (member ids, resident numbers, names, phones) found where none may be."""

    identifiers: int = Field(description="distinct raw identifiers the simulated devices sent")
    hits: dict[str, int] = Field(description="place -> occurrences found (must all be 0)")
    bytes_scanned: dict[str, int]

    @property
    def problems(self) -> list[str]:
        return [f"{n} raw identifiers in {place}" for place, n in self.hits.items() if n]


class StationPages(BaseModel):
    """What the stations' pages showed after the run (demo.stations); pseudonyms only, no names."""

    account: str = Field(description="the counsellor account every station page has")
    ports: dict[str, int] = Field(description="station -> loopback port of its page")
    scored_visits: int = Field(default=0, description="visits with a score point in InfluxDB")
    result_pages: int = Field(
        default=0, description="of those, result pages at their station showing the result and the local name"
    )
    missing: list[str] = Field(default_factory=list, description="station/visit of each page that failed")
    browser: str | None = Field(default=None, description="None: checked in Chromium; else why not")
    pages_in_browser: int = Field(default=0, description="result pages opened in Chromium")
    pdf_ok: bool | None = Field(default=None, description="the printed A4 report holds the name and values")
    pdf_bytes: int = 0
    pdf_values: dict[str, str] = Field(default_factory=dict, description="metric -> value found in the PDF")
    action_case: str | None = Field(default=None, description="the case acted on in Chromium")
    follow_ups: dict[str, str] = Field(default_factory=dict, description="pseudonym -> follow-up date set")
    action_events: list[str] = Field(
        default_factory=list, description="case:event of the counsellor's clicks found in InfluxDB"
    )
    dashboard_events: list[str] = Field(
        default_factory=list, description="the same, in the clinical dashboard's case-event panel"
    )
    overdue_expected: dict[str, list[str]] = Field(
        default_factory=dict, description="'station day' -> pseudonyms overdue by the follow-up dates set"
    )
    overdue_shown: dict[str, list[str]] = Field(
        default_factory=dict, description="'station day' -> pseudonyms the station's list shows"
    )
    failures: list[str] = Field(default_factory=list)
    duration_s: float = Field(default=0.0, description="time the station checks took")

    @property
    def problems(self) -> list[str]:
        return [f"station pages: {f}" for f in self.failures]


class DemoSummary(BaseModel):
    started_at: AwareDatetime
    finished_at: AwareDatetime
    duration_s: float
    stations: int
    participants: int
    days: int
    visits: int
    device_messages: int = Field(description="messages the simulated devices published")
    measurements_written: int = Field(description="reading points the gateway wrote to InfluxDB")
    points_by_measurement: dict[str, int]
    dead_letters_by_reason: dict[str, int]
    cases: list[CaseRecord]
    decliners: int = Field(
        default=0, description="simulated participants who decline (the simulator's truth)"
    )
    decliners_with_case: int = Field(
        default=0, description="of those, how many have a case in their declining domain after its onset"
    )
    decliners_by_kind: list[DeclinerGroup] = Field(default_factory=list)
    decliner_cases_elsewhere: int = Field(
        default=0, description="decliners' cases in another domain or before the onset (false cases too)"
    )
    steady: int = Field(default=0, description="simulated participants who do not decline")
    steady_with_case: int = Field(default=0, description="of those, how many have a case")
    steady_cases: int = Field(default=0, description="cases of steady participants: false cases")
    steady_person_years: float = Field(
        default=0.0, description="first to last visit, summed over steady people"
    )
    cases_per_participant: dict[str, int] = Field(
        default_factory=dict, description="pseudonym -> cases, for every participant with one"
    )
    participants_by_cases: dict[int, int] = Field(
        default_factory=dict, description="number of cases -> participants with that many (0 included)"
    )
    per_station: list[StationCounts]
    uplink_outage: UplinkOutage | None
    consistency: Consistency | None = None
    privacy: PrivacyScan | None = None
    station_pages: StationPages | None = None
    charts: list[str] = Field(default_factory=list, description="PNG files, relative to the output dir")

    @property
    def problems(self) -> list[str]:
        """What the run's own checks found wrong (empty: all good)."""
        out = self.consistency.problems if self.consistency is not None else ["consistency not checked"]
        out = out + (self.privacy.problems if self.privacy is not None else ["privacy not checked"])
        return out + (
            self.station_pages.problems if self.station_pages is not None else ["station pages not checked"]
        )

    @property
    def participants_with_case(self) -> list[str]:
        return sorted({case.participant for case in self.cases})

    @property
    def false_cases_per_steady_person_year(self) -> float | None:
        return self.steady_cases / self.steady_person_years if self.steady_person_years else None


def utc(dt: datetime) -> datetime:
    from datetime import UTC

    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)

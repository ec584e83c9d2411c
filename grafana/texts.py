"""Every title, description and legend in Korean and English: one table for both languages.

Station staff read Korean; the build takes ``--lang ko|en``. A key missing a language is an error
at import time (``_check``), not a blank panel title.
"""

from __future__ import annotations

from typing import Literal

Lang = Literal["ko", "en"]
LANGS: tuple[Lang, ...] = ("ko", "en")

# key: (Korean, English)
TEXTS: dict[str, tuple[str, str]] = {
    # dashboards
    "fleet": ("운영 현황 (스테이션·게이트웨이)", "Fleet (stations and gateway)"),
    "fleet.desc": (
        "스테이션 연결, 스풀, 기기, 게이트웨이 처리량과 지연",
        "Station uplinks, spools, devices, gateway throughput and lag",
    ),
    "station": ("스테이션 임상 현황", "Station (clinical lead)"),
    "station.desc": (
        "방문·측정 건수, AWGS 2019 기준 분포, 사례 추적 관리",
        "Visits, measurements, distributions against AWGS 2019 cut-offs, and case follow-up",
    ),
    "participant": ("참여자 추이", "Participant"),
    "participant.desc": (
        "가명 ID 기준 모든 스테이션의 방문별 추이",
        "One pseudonymised participant across visits and stations",
    ),
    "cross": ("스테이션 간 비교", "Cross-station"),
    "cross.desc": (
        "스테이션별 노쇠 분포, 새 저하 사례, 데이터 완전성",
        "Frailty shares, new decline cases and data completeness per station",
    ),
    "alerts": ("기능 저하 사례", "Decline cases"),
    "alerts.desc": (
        "참여자·영역별 저하 사례: 열린 사례와 최근 사례 이벤트",
        "Decline cases per participant and domain: the open ones and recent case events",
    ),
    # folders
    "folder.clinical": ("임상", "Clinical"),
    "folder.ops": ("운영", "Operations"),
    # variables
    "var.station": ("스테이션", "Station"),
    "var.pseudonym": ("참여자 가명", "Participant pseudonym"),
    "var.interval": ("집계 간격", "Interval"),
    # fleet panels
    "p.online": ("스테이션 연결 상태", "Stations online"),
    "p.online.desc": (
        "1 = 온라인, 0 = 오프라인 (에이전트 Last Will)",
        "1 online, 0 offline (agent Last Will)",
    ),
    "p.last_seen": ("마지막 하트비트", "Last heartbeat"),
    "p.spool_depth": ("스풀 대기 메시지", "Spool depth"),
    "p.spool_oldest": ("가장 오래된 스풀 메시지", "Oldest spooled message age"),
    "p.devices": ("스테이션별 기기와 마지막 메시지", "Devices per station and their last message"),
    "p.messages_rate": ("초당 메시지", "Messages per second"),
    "p.ingest_lag": ("게이트웨이 수집 지연", "Gateway ingest lag"),
    "p.write_latency": ("InfluxDB 쓰기 지연", "InfluxDB write latency"),
    "p.retries": ("쓰기 재시도", "Write retries"),
    "p.dead_letters": ("사유별 거부 메시지", "Dead letters by reason"),
    # station panels
    "p.measurements": ("기기 종류별 측정 건수", "Measurements by device kind"),
    "p.visits": ("방문 참여자 수", "Participants visiting"),
    "p.gait_dist": ("보행 속도 분포 (AWGS 기준 1.0 m/s)", "Gait speed distribution (AWGS cut-off 1.0 m/s)"),
    "p.sppb_dist": ("SPPB 분포 (9점 이하 저하)", "SPPB distribution (≤ 9 low)"),
    "p.grip_dist": ("악력 분포 (남 28 kg, 여 18 kg)", "Grip distribution (men 28 kg, women 18 kg)"),
    "p.chair_dist": (
        "의자 일어서기 5회 분포 (12초 이상 저하)",
        "Five chair stands distribution (≥ 12 s low)",
    ),
    "p.frailty_time": ("노쇠 단계 추이", "Frailty categories over time"),
    "p.follow_up": ("추적 관리: 발견 → 연계 → 추적 완료", "Follow-up: cases opened → linked → followed up"),
    "p.follow_up.desc": (
        "측정소가 아는 사례(발견), 그중 사회적 처방으로 연계된 사례, 그중 종결되었거나 추적 날짜 이후 "
        "다시 방문한 사례(추적 완료), 추적 날짜가 지났는데 방문하지 않은 사례(지연). 각 측정소가 "
        "하트비트로 보고한 최신 값으로, 측정소 화면의 숫자와 같습니다.",
        "Cases the station knows (opened), of those linked to a social prescription, of those resolved or "
        "seen again on or after the follow-up date (followed up), and open cases past their follow-up date "
        "without that visit (overdue). The newest counts each station reported in its heartbeat: the "
        "numbers its own page shows.",
    ),
    "p.overdue": ("추적 지연 사례 수", "Overdue follow-ups"),
    "p.overdue.desc": (
        "추적 날짜가 지났는데 그 뒤 방문하지 않은 열린 사례 수 (측정소 보고)",
        "Open cases past their follow-up date without a visit since (as each station reports)",
    ),
    # participant panels
    "p.gait_speed": ("보행 속도", "Gait speed"),
    "p.cadence": ("분당 걸음 수", "Cadence"),
    "p.stride_cv": ("보폭 시간 변동계수", "Stride-time CV"),
    "p.sway_area": ("동요 면적 (95% 타원)", "Sway area (95 % ellipse)"),
    "p.sway_velocity": ("동요 평균 속도", "Sway mean velocity"),
    "p.chair_stand": ("의자 일어서기 5회 시간", "Five chair stands time"),
    "p.grip": ("최대 악력", "Grip (max)"),
    "p.sppb": ("SPPB 총점", "SPPB total"),
    "p.kfrail": ("K-FRAIL 점수", "K-FRAIL score"),
    "a.cases": ("저하 사례 이벤트", "Case events"),
    # cross-station panels
    "p.frailty_share": ("월별 노쇠 단계 비율", "Robust / pre-frail / frail share by month"),
    "p.cases_per_station": ("스테이션별 새 저하 사례", "Decline cases opened per station"),
    "p.completeness": ("기기 종류별 데이터 완전성", "Data completeness per device kind"),
    # alerts dashboard
    "p.open_cases": ("열린 저하 사례", "Open decline cases"),
    "p.open_cases.desc": (
        "종결되지 않은 사례: 가명, 영역, 상태(열림/확인), 심각도(1 주의, 2 위험), "
        "첫·최근 방문, 규칙, 이벤트 수",
        "Cases not resolved: pseudonym, domain, state (open/acknowledged), severity (1 warning, 2 critical), "
        "first and latest visit, rule, events",
    ),
    "p.case_events": ("최근 사례 이벤트", "Recent case events"),
    "p.case_events.desc": (
        "감지(열림, 갱신, 격상, 종결 제안)와 상담사 조치(확인, 처방, 추적 일정, 종결), 처리 시각 순",
        "Detections (opened, updated, escalated, close suggested) and counsellors' actions (acknowledged, "
        "prescribed, follow-up set, resolved), newest first by processing time",
    ),
    # legends
    "l.robust": ("건강", "robust"),
    "l.pre_frail": ("노쇠 전단계", "pre-frail"),
    "l.frail": ("노쇠", "frail"),
    # alert rules
    "r.case": ("새 기능 저하 사례 또는 격상", "Decline case opened or escalated"),
    "r.case.desc": (
        "참여자 {{ $labels.participant }}의 {{ $labels.domain }} 영역 사례 {{ $labels.case_id }} "
        "({{ $labels.severity }})",
        "Participant {{ $labels.participant }}: {{ $labels.domain }} case {{ $labels.case_id }} "
        "({{ $labels.severity }})",
    ),
    "r.offline": ("스테이션 10분 이상 오프라인", "Station offline for more than 10 min"),
    "r.offline.desc": (
        "스테이션 {{ $labels.station_id }} 에이전트 응답 없음",
        "Station {{ $labels.station_id }} agent is offline",
    ),
    "r.device_silent": ("운영 시간 중 기기 무응답", "Device silent during opening hours"),
    "r.device_silent.desc": (
        "{{ $labels.station_id }}의 기기 {{ $labels.device_id }} 2시간 이상 무응답",
        "Device {{ $labels.device_id }} at {{ $labels.station_id }} silent for over 2 h",
    ),
    "r.lag": ("게이트웨이 지연 60초 초과", "Gateway lag over 60 s"),
    "r.lag.desc": ("게이트웨이 {{ $labels.gateway }} 수집 지연", "Gateway {{ $labels.gateway }} ingest lag"),
    "r.dead_letters": ("거부 메시지 급증", "Dead-letter rate spike"),
    "r.dead_letters.desc": (
        "{{ $labels.station_id }}에서 15분간 거부 메시지 급증",
        "Dead letters spiking at {{ $labels.station_id }} (15 min)",
    ),
    "r.gateway_silent": ("게이트웨이 응답 없음", "Gateway silent"),
    "r.gateway_silent.desc": (
        "게이트웨이 {{ $labels.gateway }}의 통계가 5분 이상 기록되지 않음 "
        "(게이트웨이가 하나도 없으면 레이블 없음)",
        "No stats from gateway {{ $labels.gateway }} for over 5 min "
        "(no label: no gateway has written at all)",
    ),
    "r.influxdb_silent": ("InfluxDB 응답 없음", "InfluxDB silent"),
    "r.influxdb_silent.desc": (
        "InfluxDB가 쿼리에 응답하지 않거나 5분간 아무것도 저장되지 않음",
        "InfluxDB does not answer queries, or nothing has been stored for 5 min",
    ),
    "r.heartbeat_stale": ("스테이션 하트비트 끊김", "Station heartbeats stale"),
    "r.heartbeat_stale.desc": (
        "스테이션 {{ $labels.station_id }}의 하트비트가 5분 이상 도착하지 않음",
        "No heartbeat from station {{ $labels.station_id }} for over 5 min",
    ),
    "r.spool_backlog": ("스풀 적체 15분 초과", "Spool backlog over 15 min"),
    "r.spool_backlog.desc": (
        "스테이션 {{ $labels.station_id }} 스풀의 가장 오래된 메시지가 15분 이상 전송되지 않음",
        "The oldest message in station {{ $labels.station_id }}'s spool has waited over 15 min",
    ),
    "r.spool_full": ("스풀 가득 참: 측정값 거부", "Spool full: readings refused"),
    "r.spool_full.desc": (
        "스테이션 {{ $labels.station_id }}가 스풀이 가득 차 측정값을 거부함 (중앙에 도달하지 못함)",
        "Station {{ $labels.station_id }} refused readings because its spool is full "
        "(they never reach the centre)",
    ),
    "g.participants": ("참여자 알림", "Participant alerts"),
    "g.fleet": ("운영 알림", "Fleet alerts"),
}


def text(key: str, lang: Lang) -> str:
    """The text for ``key`` in ``lang``; a missing key raises KeyError naming it."""
    ko, en = TEXTS[key]
    return ko if lang == "ko" else en


def _check() -> None:
    empty = [key for key, pair in TEXTS.items() if len(pair) != 2 or not all(s.strip() for s in pair)]
    if empty:
        raise ValueError(f"texts without both Korean and English: {empty}")


_check()

"""The station page's words, Korean first, English second, and the sentences that explain a result.

A result arrives as keys and numbers (:mod:`telemetry.results`); this module words them for a
participant: what the measure is, which band the value is in, and whose cut-off that is. Every
cut-off number in a sentence comes from the result (that is, from the scoring code), never from
here. :func:`t` looks a key up; the ``explain_*`` functions build the sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from telemetry.results import Comparison, CutoffBand, Measure, PointsBand, Scores

LANGS = ("ko", "en")

_T: dict[str, tuple[str, str]] = {
    # page chrome
    "app_title": ("건강 측정 결과", "Health check results"),
    "station": ("측정소", "Station"),
    "login": ("로그인", "Log in"),
    "logout": ("로그아웃", "Log out"),
    "username": ("아이디", "Username"),
    "password": ("비밀번호", "Password"),
    "login_failed": ("아이디 또는 비밀번호가 맞지 않습니다.", "Wrong username or password."),
    "skip": ("본문으로 건너뛰기", "Skip to content"),
    "language": ("언어", "Language"),
    "lang_other": ("English", "한국어"),
    "nav_today": ("오늘의 방문", "Today's visits"),
    "nav_followup": ("추적 관리", "Follow-up"),
    "visits_on": ("방문 목록", "Visits on"),
    "previous_day": ("이전 날", "Previous day"),
    "next_day": ("다음 날", "Next day"),
    "latest_day": ("최근 방문일로", "Latest day with visits"),
    "no_visits": ("이 날짜에는 방문이 없습니다.", "No visits on this day."),
    "time": ("시각", "Time"),
    "participant": ("참여자", "Participant"),
    "member_id": ("회원번호", "Member no."),
    "no_name": ("이름 미등록", "name not registered"),
    "unknown_person": ("이 측정소에서 본 적 없는 참여자", "participant not seen at this station"),
    "measurements": ("측정", "Measurements"),
    "result": ("결과", "Result"),
    "result_ready": ("결과 도착", "Result in"),
    "result_pending": ("중앙 채점 대기 중", "Central scoring pending"),
    "open_cases": ("진행 중 사례", "Open cases"),
    "open_visit": ("결과 보기", "Open result"),
    "visit_of": ("방문 결과", "Visit result"),
    "visit_time": ("측정 일시", "Measured"),
    "pending_banner": (
        "중앙 채점을 기다리는 중입니다. 이 측정소에서 잰 값은 아래에 바로 보입니다. "
        "점수가 도착하면 화면이 저절로 채워집니다.",
        "Waiting for the central scores. The values measured here are shown below straight away; "
        "the scores fill in by themselves when they arrive.",
    ),
    "pending": ("대기 중", "pending"),
    "band_pending": ("판정은 채점 후에 나옵니다", "band follows with the scores"),
    "analysis_pending": ("원신호 분석 대기 중", "analysis of the recording pending"),
    "your_results": ("오늘의 결과", "Today's results"),
    "measure": ("항목", "Measure"),
    "value": ("값", "Value"),
    "what_it_means": ("뜻", "What it means"),
    "scores": ("종합 점수", "Scores"),
    "comparison": ("지난 방문과 비교 (모든 측정소)", "Compared with earlier visits (any station)"),
    "trend": ("변화 추이", "Trend"),
    "trend_table": ("방문별 값", "Values by visit"),
    "date": ("날짜", "Date"),
    "local_values": ("이 측정소에서 잰 값 전체", "Everything measured at this station"),
    "device": ("기기", "Device"),
    "print": ("인쇄용 보고서 (A4)", "Printable report (A4)"),
    "print_now": ("인쇄하기", "Print"),
    "back_to_visit": ("결과 화면으로", "Back to the result"),
    "report_footer": (
        "이 보고서는 선별 검사 결과이며 진단이 아닙니다. 궁금한 점은 상담사에게 물어보세요.",
        "These are screening results, not a diagnosis. Please ask your counsellor about anything unclear.",
    ),
    "next_follow_up": ("다음 확인 날짜", "Next check-up"),
    # cases and actions
    "cases": ("사례 관리", "Cases"),
    "no_cases": ("진행 중인 사례가 없습니다.", "No open cases."),
    "domain": ("영역", "Domain"),
    "state": ("상태", "State"),
    "severity": ("심각도", "Severity"),
    "opened": ("시작", "Opened"),
    "evidence": ("근거", "Evidence"),
    "acknowledge": ("확인함으로 표시", "Acknowledge"),
    "prescribe": ("사회적 처방 기록", "Record a social prescription"),
    "programme": ("프로그램", "Programme"),
    "health_activist": ("건강 활동가와 연결", "Matched with a health activist"),
    "note": ("메모 (이름·전화번호·주민번호 금지)", "Note (no names, phone or resident numbers)"),
    "follow_up": ("추적 날짜 정하기", "Set a follow-up date"),
    "follow_up_on": ("추적 날짜", "Follow-up date"),
    "resolve": ("사례 종결", "Resolve the case"),
    "reason": ("종결 사유", "Reason"),
    "choose": ("선택하세요", "Choose"),
    "submit": ("보내기", "Send"),
    "action_sent": (
        "기록했습니다. 중앙 서버로 보낼 대기열에 들어갔습니다 (연결이 끊겨도 보존됩니다).",
        "Recorded. It is queued for the central server (kept through an outage).",
    ),
    "action_refused": ("기록하지 못했습니다", "Not recorded"),
    "prescription": ("처방", "Prescription"),
    "activist_yes": ("건강 활동가 연결", "health activist matched"),
    # follow-up page
    "overdue": ("추적 날짜가 지났는데 방문하지 않은 분", "Follow-up date passed without a visit"),
    "no_overdue": ("추적 날짜가 지난 분이 없습니다.", "Nobody is overdue."),
    "days_overdue": ("지난 날수", "Days overdue"),
    "last_visit": ("마지막 방문", "Last visit"),
    "funnel": ("사례 흐름 (이 측정소)", "Cases at this station"),
    "funnel_opened": ("발견된 사례", "Cases opened"),
    "funnel_linked": ("처방으로 연계", "Linked to a prescription"),
    "funnel_followed": (
        "추적 완료 (추적 날짜 이후 방문 또는 종결)",
        "Followed up (visited on or after the follow-up date, or resolved)",
    ),
    "funnel_note": (
        "다른 측정소 방문은 이 측정소에 새 결과가 올 때 함께 알려집니다.",
        "Visits at other stations become known here with this station's next result.",
    ),
    "error": ("오류", "Error"),
    "forbidden": (
        "보안 토큰이 맞지 않습니다. 페이지를 새로 고친 뒤 다시 시도하세요.",
        "The security token did not match. Reload the page and try again.",
    ),
    "not_found": ("찾을 수 없습니다.", "Not found."),
    "yes": ("예", "yes"),
    "no": ("아니요", "no"),
    "unknown": ("모름", "unknown"),
    "missing_inputs": ("빠진 측정", "Missing measurements"),
}

METRICS: dict[str, tuple[str, str]] = {
    "grip_max_kg": ("악력", "Grip strength"),
    "gait_speed_mps": ("보행 속도", "Walking speed"),
    "walk_time_s": ("걷기 시간", "Walking time"),
    "walk_distance_m": ("걷기 거리", "Walking course"),
    "chair_stand_5x_s": ("의자에서 5번 일어서기", "Five chair stands"),
    "side_by_side_s": ("두 발 모으고 서기", "Standing feet together"),
    "semi_tandem_s": ("반일렬로 서기", "Semi-tandem stand"),
    "tandem_s": ("일렬로 서기", "Tandem stand"),
    "tug_time_s": ("일어나 걸어가기 (TUG)", "Timed Up and Go"),
    "asmi_kg_m2": ("팔다리 근육량 지수", "Limb muscle index (ASMI)"),
    "weight_kg": ("몸무게", "Weight"),
    "height_cm": ("키", "Height"),
    "bmi_kg_m2": ("체질량지수 (BMI)", "Body-mass index"),
    "sppb_total": ("SPPB 총점", "SPPB total"),
    "kfrail_score": ("K-FRAIL 점수", "K-FRAIL score"),
    # station-local values
    "systolic_mmhg": ("수축기 혈압", "Systolic pressure"),
    "diastolic_mmhg": ("이완기 혈압", "Diastolic pressure"),
    "heart_rate_bpm": ("맥박", "Heart rate"),
    "spo2_pct": ("산소포화도", "Oxygen saturation"),
    "body_temperature_c": ("체온", "Temperature"),
    "fat_pct": ("체지방률", "Body fat"),
    "phase_angle_deg": ("위상각", "Phase angle"),
    "chair_stand_30s_count": ("30초 일어서기 횟수", "Chair stands in 30 s"),
    "chair_stand_unable": ("의자 일어서기 불가", "Could not do chair stands"),
    "cognition_score": ("인지 점수", "Cognition score"),
    "cognition_max_score": ("인지 만점", "Cognition maximum"),
    "reaction_time_ms": ("반응 시간", "Reaction time"),
    "rr_intervals": ("심박 간격 수", "Beat intervals"),
    "fatigue": ("피로", "Fatigue"),
    "resistance": ("계단 오르기 어려움", "Difficulty climbing stairs"),
    "ambulation": ("300 m 걷기 어려움", "Difficulty walking 300 m"),
    "illness_count": ("앓는 질병 수", "Illnesses"),
    "weight_loss_pct_year": ("1년 체중 감소", "Weight lost in a year"),
    "weight_loss_kg_year": ("1년 체중 감소", "Weight lost in a year"),
    "exhaustion_days_per_week": ("지친 날 (주당)", "Exhausted days a week"),
    "activity_kcal_week": ("신체 활동량", "Physical activity"),
    "sex": ("성별", "Sex"),
    "birth_year": ("출생 연도", "Birth year"),
    "screening_date": ("건강검진 날짜", "Screening date"),
    "fasting_glucose_mg_dl": ("공복 혈당", "Fasting glucose"),
    "total_cholesterol_mg_dl": ("총 콜레스테롤", "Total cholesterol"),
}

UNITS: dict[str, str] = {
    "grip_max_kg": "kg",
    "gait_speed_mps": "m/s",
    "walk_time_s": "s",
    "walk_distance_m": "m",
    "chair_stand_5x_s": "s",
    "side_by_side_s": "s",
    "semi_tandem_s": "s",
    "tandem_s": "s",
    "tug_time_s": "s",
    "asmi_kg_m2": "kg/m²",
    "weight_kg": "kg",
    "height_cm": "cm",
    "bmi_kg_m2": "kg/m²",
    "systolic_mmhg": "mmHg",
    "diastolic_mmhg": "mmHg",
    "heart_rate_bpm": "/min",
    "spo2_pct": "%",
    "body_temperature_c": "°C",
    "fat_pct": "%",
    "phase_angle_deg": "°",
    "reaction_time_ms": "ms",
    "weight_loss_pct_year": "%",
    "weight_loss_kg_year": "kg",
    "activity_kcal_week": "kcal/week",
    "fasting_glucose_mg_dl": "mg/dL",
    "total_cholesterol_mg_dl": "mg/dL",
}

MEANINGS: dict[str, tuple[str, str]] = {
    "grip_max_kg": (
        "손으로 힘껏 쥐는 힘입니다. 온몸의 근력을 짐작하게 해 줍니다.",
        "How hard you can squeeze with one hand; it reflects the strength of your muscles overall.",
    ),
    "gait_speed_mps": (
        "평소 걸음으로 1초 동안 걷는 거리입니다. 빠를수록 좋습니다.",
        "How far you walk in one second at your usual pace; faster is better.",
    ),
    "walk_time_s": (
        "평소 걸음으로 정해진 거리를 걷는 데 걸린 시간입니다.",
        "The time it took to walk the course at your usual pace.",
    ),
    "walk_distance_m": ("걷기 검사를 한 거리입니다.", "The length of the walking course."),
    "chair_stand_5x_s": (
        "팔을 쓰지 않고 의자에서 다섯 번 일어서는 데 걸린 시간입니다. 다리 힘을 봅니다. 짧을수록 좋습니다.",
        "The time to stand up from a chair five times without using your arms; it shows leg strength. "
        "Shorter is better.",
    ),
    "side_by_side_s": (
        "두 발을 나란히 모으고 버틴 시간입니다 (균형).",
        "How long you stood with your feet together (balance).",
    ),
    "semi_tandem_s": (
        "한 발 뒤꿈치를 다른 발 엄지 옆에 두고 버틴 시간입니다 (균형).",
        "How long you stood with one heel beside the other big toe (balance).",
    ),
    "tandem_s": (
        "한 발을 다른 발 바로 앞에 일렬로 두고 버틴 시간입니다 (균형).",
        "How long you stood with one foot straight in front of the other (balance).",
    ),
    "tug_time_s": (
        "의자에서 일어나 3 m를 걸어갔다 돌아와 다시 앉는 데 걸린 시간입니다. 짧을수록 좋습니다.",
        "The time to stand up, walk 3 m, turn, walk back and sit down again; shorter is better.",
    ),
    "asmi_kg_m2": (
        "팔과 다리의 근육량을 키의 제곱으로 나눈 값입니다 (체성분 측정).",
        "The muscle in your arms and legs divided by your height squared (body composition).",
    ),
    "weight_kg": ("몸무게입니다.", "Your weight."),
    "height_cm": ("키입니다.", "Your height."),
    "bmi_kg_m2": ("몸무게를 키의 제곱으로 나눈 값입니다.", "Your weight divided by your height squared."),
}

REFERENCES: dict[str, tuple[str, str]] = {
    "awgs_2019": ("아시아 근감소증 진단 기준 AWGS 2019", "the Asian sarcopenia criteria AWGS 2019"),
    "sppb": (
        "단축 신체 기능 검사 SPPB (Guralnik 1994)",
        "the Short Physical Performance Battery (Guralnik 1994)",
    ),
    "fried_2001": ("Fried 허약 기준 (2001)", "the Fried frailty criteria (2001)"),
    "k_frail": ("한국판 허약 척도 K-FRAIL", "the Korean FRAIL scale K-FRAIL"),
    "tug_fall_risk": ("일어나 걸어가기 낙상 위험 기준", "the Timed Up and Go fall-risk cut-off"),
}

CRITERIA: dict[str, tuple[str, str]] = {
    "low_muscle_strength": ("근력 저하", "low muscle strength"),
    "slow_gait_speed": ("걷는 속도 저하", "slow walking"),
    "slow_chair_stand": (
        "신체 수행 저하 (의자 일어서기가 느림)",
        "low physical performance (slow chair stands)",
    ),
    "low_muscle_mass": ("근육량 부족", "low muscle mass"),
    "weakness": ("허약 징후인 근력 약화", "weakness, a sign of frailty"),
    "raised_fall_risk": ("낙상 위험 증가", "a raised risk of falls"),
}

AWGS_STATUS: dict[str, tuple[str, str]] = {
    "none": ("근감소증 소견 없음", "no sign of sarcopenia"),
    "possible_sarcopenia": (
        "근감소증 의심 (정밀 확인 권장)",
        "possible sarcopenia (further assessment advised)",
    ),
    "sarcopenia": ("근감소증", "sarcopenia"),
    "severe_sarcopenia": ("중증 근감소증", "severe sarcopenia"),
}
CATEGORY: dict[str, tuple[str, str]] = {
    "robust": ("건강", "robust"),
    "pre_frail": ("허약 전단계", "pre-frail"),
    "frail": ("허약", "frail"),
}
KFRAIL_ITEMS: dict[str, tuple[str, str]] = {
    "fatigue": ("피로", "fatigue"),
    "resistance": ("계단 10개 오르기 어려움", "difficulty climbing 10 stairs"),
    "ambulation": ("300 m 걷기 어려움", "difficulty walking 300 m"),
    "illness": ("질병 5개 이상", "5 or more illnesses"),
    "loss_of_weight": ("1년에 체중 5 % 이상 감소", "lost 5 % of weight or more in a year"),
}
FRIED_ITEMS: dict[str, tuple[str, str]] = {
    "weight_loss": ("의도하지 않은 체중 감소", "unintended weight loss"),
    "exhaustion": ("지침 (주 3일 이상)", "exhaustion (3 or more days a week)"),
    "low_activity": ("신체 활동 부족", "low physical activity"),
    "slowness": ("느린 걸음", "slow walking"),
    "weakness": ("근력 약화", "weakness"),
}
DOMAINS: dict[str, tuple[str, str]] = {
    "mobility": ("이동 능력", "mobility"),
    "strength": ("근력", "strength"),
    "balance": ("균형", "balance"),
    "self_report": ("설문 (자가 보고)", "questionnaire (self-report)"),
    "frailty_category": ("허약 단계", "frailty category"),
}
STATES: dict[str, tuple[str, str]] = {
    "open": ("새 사례", "open"),
    "acknowledged": ("확인함", "acknowledged"),
    "resolved": ("종결", "resolved"),
}
SEVERITIES: dict[str, tuple[str, str]] = {"warning": ("주의", "warning"), "critical": ("위험", "critical")}
REASONS: dict[str, tuple[str, str]] = {
    "confirmed_referred": ("확인 후 연계함", "confirmed and referred"),
    "not_confirmed": ("재검사에서 확인되지 않음", "not confirmed by a retest or call"),
    "explained": (
        "일시적 원인으로 설명됨 (부상·질병 등)",
        "explained by a temporary cause (injury, illness)",
    ),
    "recovered": ("회복됨", "recovered"),
}
VERDICTS: dict[str, tuple[str, str]] = {
    "first_visit": ("첫 측정입니다.", "First measurement."),
    "steady": (
        "의미 있는 변화는 없습니다 (변화가 {mc} {unit} 미만).",
        "No meaningful change (less than {mc} {unit}).",
    ),
    "better": ("의미 있게 좋아졌습니다 ({mc} {unit} 이상).", "Meaningfully better (by {mc} {unit} or more)."),
    "worse": ("의미 있게 나빠졌습니다 ({mc} {unit} 이상).", "Meaningfully worse (by {mc} {unit} or more)."),
}
REFUSALS: dict[str, tuple[str, str]] = {
    "case_resolved": ("이미 종결된 사례입니다.", "This case is already resolved."),
    "already_acknowledged": ("이미 확인한 사례입니다.", "This case is already acknowledged."),
    "reason_required": ("종결 사유를 고르세요.", "Choose a reason."),
    "programme_required": ("프로그램을 고르세요.", "Choose a programme."),
    "unknown_programme": ("목록에 없는 프로그램입니다.", "That programme is not on the list."),
    "date_required": ("날짜를 입력하세요.", "Enter a date."),
    "date_invalid": ("날짜 형식이 맞지 않습니다 (YYYY-MM-DD).", "The date is not valid (YYYY-MM-DD)."),
    "date_in_past": ("지난 날짜는 고를 수 없습니다.", "The date is in the past."),
    "date_too_far": ("2년 안의 날짜를 고르세요.", "Choose a date within two years."),
    "identifier_in_text": (
        "메모에 전화번호·주민번호·전자우편 같은 개인 식별 정보가 있어 보낼 수 없습니다. "
        "지우고 다시 보내세요.",
        "The note looks like it contains a phone or resident number or an e-mail address; "
        "remove it and send again.",
    ),
    "too_long": ("메모는 280자까지입니다.", "A note is at most 280 characters."),
    "unknown_case": ("이 측정소가 모르는 사례입니다.", "This station does not know that case."),
    "spool_full": (
        "대기열이 가득 차 기록하지 못했습니다. 관리자에게 알리세요.",
        "The queue is full; tell the administrator.",
    ),
    "invalid": ("입력값이 맞지 않습니다.", "The input is not valid."),
}
DEVICES: dict[str, tuple[str, str]] = {
    "profile": ("등록 정보", "Registration"),
    "vitals": ("활력 징후", "Vital signs"),
    "body_composition": ("체성분", "Body composition"),
    "grip": ("악력계", "Grip dynamometer"),
    "gait": ("보행", "Walking"),
    "balance": ("균형", "Balance"),
    "sit_to_stand": ("의자 일어서기", "Chair stands"),
    "tug": ("일어나 걸어가기", "Timed Up and Go"),
    "cognition": ("인지", "Cognition"),
    "hrv": ("스트레스 (심박 변이)", "Stress (HRV)"),
    "questionnaire": ("설문", "Questionnaire"),
    "health_screening": ("건강검진", "Health screening"),
}
PENDING: dict[str, tuple[str, str]] = {
    "gait_analysis": ("보행 신호 분석 대기", "gait analysis pending"),
    "sway_analysis": ("흔들림 분석 대기", "sway analysis pending"),
    "chair_stand_analysis": ("의자 일어서기 분석 대기", "chair-stand analysis pending"),
    "tug_analysis": ("TUG 분석 대기", "TUG analysis pending"),
    "hrv_analysis": ("심박 변이 분석 대기", "HRV analysis pending"),
}


def _pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    pair = table.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "ko" else pair[1]


def t(lang: str, key: str, **values: Any) -> str:
    text = _pick(_T, key, lang)
    return text.format(**values) if values else text


def word(table_name: str, key: str, lang: str) -> str:
    """A domain word: ``word("METRICS", "grip_max_kg", "ko")`` → 악력."""
    table: dict[str, tuple[str, str]] = globals()[table_name]
    return _pick(table, key, lang)


def number(value: float | int | bool | str, metric: str = "") -> str:
    """A value as the page prints it: whole numbers whole, gait speed to 2 places, others to the
    1 or 2 places they carry (a band bound of 11.19 s stays 11.19)."""
    if isinstance(value, bool | str):
        return str(value)
    v = float(value)
    if metric == "gait_speed_mps":
        return f"{v:.2f}"
    if v.is_integer():
        return str(int(v))
    return f"{v:.1f}" if round(v, 1) == v else f"{v:.2f}"


def with_unit(value: float | int | bool | str, metric: str, lang: str) -> str:
    if isinstance(value, bool):
        return t(lang, "yes" if value else "no")
    unit = UNITS.get(metric, "")
    return f"{number(value, metric)} {unit}".strip()


@dataclass(frozen=True, slots=True)
class Explanation:
    """One band of a measure, in words: where it is from, the sentence, and whether it applies."""

    reference: str
    sentence: str
    flagged: bool | None


def _side(lang: str, side: str, cutoff: float, unit: str) -> str:
    c = f"{number(cutoff)} {unit}".strip()
    ko = {"below": f"{c} 미만", "at_most": f"{c} 이하", "at_least": f"{c} 이상", "above": f"{c} 초과"}
    en = {
        "below": f"below {c}",
        "at_most": f"{c} or less",
        "at_least": f"{c} or more",
        "above": f"more than {c}",
    }
    return (ko if lang == "ko" else en)[side]


def _cutoff_sentence(band: CutoffBand, measure: Measure, sex: str | None, lang: str) -> str:
    ref = _pick(REFERENCES, band.reference.value, lang)
    if band.reference.value == "tug_fall_risk" and band.cutoff == 13.5:
        ref += " (Shumway-Cook 2000)"
    criterion = _pick(CRITERIA, band.criterion, lang)
    side = _side(lang, band.side, band.cutoff, measure.unit)
    sex_specific = band.criterion in ("low_muscle_strength", "low_muscle_mass") and sex is not None
    if lang == "ko":
        who = {"female": "여성은 ", "male": "남성은 "}[sex] if sex_specific and sex else ""
        if band.criterion == "weakness":
            who = "체질량지수를 고려하면 "
        verdict = "이 기준에 해당합니다." if band.flagged else "이 기준에는 해당하지 않습니다."
        return f"{ref}: {who}{side}이면 ‘{criterion}’입니다. 결과: {verdict}"
    who = {"female": "for women, ", "male": "for men, "}[sex] if sex_specific and sex else ""
    if band.criterion == "weakness":
        who = "for your body-mass index, "
    verdict = "this applies to you." if band.flagged else "this does not apply to you."
    return f"By {ref}, {who}{side} counts as {criterion}. Result: {verdict}"


def _range(lang: str, band: PointsBand, unit: str) -> str:
    low, high = band.low, band.high
    at_least = band.criterion == "sppb_balance"
    if low is not None and high is not None:
        return f"{number(low)}–{number(high)} {unit}"
    if high is not None:
        return f"{number(high)} {unit} 미만" if lang == "ko" else f"under {number(high)} {unit}"
    if low is not None:
        if lang == "ko":
            return f"{number(low)} {unit} {'이상' if at_least else '초과'}"
        return f"{number(low)} {unit} or more" if at_least else f"over {number(low)} {unit}"
    return ""


def _points_sentence(band: PointsBand, measure: Measure, lang: str) -> str:
    ref = _pick(REFERENCES, "sppb", lang)
    span = _range(lang, band, measure.unit)
    course = f"{number(band.course_m)} m " if band.course_m else ""
    if lang == "ko":
        return f"{ref}: {course}{span}이면 {band.max_points}점 중 {band.points}점입니다."
    return f"By {ref}, {course}{span} scores {band.points} of {band.max_points} points."


def explain_measure(measure: Measure, sex: str | None, lang: str) -> list[Explanation]:
    out = []
    for band in measure.bands:
        if isinstance(band, CutoffBand):
            sentence = _cutoff_sentence(band, measure, sex, lang)
            out.append(Explanation(band.reference.value, sentence, band.flagged))
        else:
            out.append(Explanation("sppb", _points_sentence(band, measure, lang), None))
    return out


def _yes(lang: str, value: bool | None) -> str:
    return t(lang, "unknown") if value is None else t(lang, "yes" if value else "no")


def explain_scores(scores: Scores, lang: str) -> list[tuple[str, str, list[str]]]:
    """(title, summary, component lines) per instrument present."""
    ko = lang == "ko"
    out = []
    if scores.sppb is not None:
        s = scores.sppb
        low = "해당합니다" if s.low_performance else "해당하지 않습니다"
        summary = (
            f"{s.total}점 / 12점. AWGS 2019는 {s.low_performance_cutoff}점 이하를 "
            f"‘신체 수행 저하’로 봅니다: {low}."
            if ko
            else f"{s.total} of 12 points. AWGS 2019 counts {s.low_performance_cutoff} or less as "
            f"low physical performance: {'this applies' if s.low_performance else 'this does not apply'}."
        )
        parts = (
            [f"균형 {s.balance}/4", f"걷기 {s.gait}/4", f"의자 일어서기 {s.chair}/4"]
            if ko
            else [f"balance {s.balance}/4", f"walking {s.gait}/4", f"chair stands {s.chair}/4"]
        )
        out.append(("SPPB", summary, parts))
    if scores.awgs is not None:
        a = scores.awgs
        status = _pick(AWGS_STATUS, a.status, lang)
        summary = f"{status}." + (
            "" if a.complete else (" (일부 측정 없음)" if ko else " (some measures missing)")
        )
        parts = [
            f"{_pick(CRITERIA, 'low_muscle_strength', lang)}: {_yes(lang, a.low_muscle_strength)}",
            f"{'신체 수행 저하' if ko else 'low physical performance'}: "
            f"{_yes(lang, a.low_physical_performance)}",
            f"{_pick(CRITERIA, 'low_muscle_mass', lang)}: {_yes(lang, a.low_muscle_mass)}",
        ]
        out.append(("AWGS 2019", summary, parts))
    if scores.kfrail is not None:
        k = scores.kfrail
        category = _pick(CATEGORY, k.category, lang)
        summary = (
            f"{k.score}점 / 5점: {category} (0점 건강, 1–2점 허약 전단계, 3–5점 허약)."
            if ko
            else f"{k.score} of 5: {category} (0 robust, 1–2 pre-frail, 3–5 frail)."
        )
        parts = [
            f"{_pick(KFRAIL_ITEMS, item, lang)}: {_yes(lang, getattr(k, item))}" for item in KFRAIL_ITEMS
        ]
        out.append(("K-FRAIL", summary, parts))
    if scores.fried is not None:
        f = scores.fried
        category = _pick(CATEGORY, f.category, lang)
        summary = (
            f"{f.count}개 / 5개: {category} (0개 건강, 1–2개 허약 전단계, 3개 이상 허약)."
            if ko
            else f"{f.count} of 5: {category} (0 robust, 1–2 pre-frail, 3 or more frail)."
        )
        parts = [f"{_pick(FRIED_ITEMS, item, lang)}: {_yes(lang, getattr(f, item))}" for item in FRIED_ITEMS]
        walk = number(f.walk_15ft_s)
        parts[3] += (
            f" (15 ft {walk} s, 기준 {number(f.slow_walk_cutoff_s)} s 이상)"
            if ko
            else f" (15 ft in {walk} s; cut-off {number(f.slow_walk_cutoff_s)} s or more)"
        )
        parts[4] += (
            f" (기준 {number(f.weak_grip_cutoff_kg)} kg 이하)"
            if ko
            else f" (cut-off {number(f.weak_grip_cutoff_kg)} kg or less)"
        )
        out.append(("Fried", summary, parts))
    return out


def explain_comparison(c: Comparison, lang: str) -> str:
    unit = UNITS.get(c.metric, "points" if lang == "en" else "점")
    if c.metric in ("sppb_total", "kfrail_score"):
        unit = "점" if lang == "ko" else "points"
    verdict = _pick(VERDICTS, c.verdict, lang).format(mc=number(c.meaningful_change), unit=unit)
    if c.baseline is None:
        return verdict
    base = number(c.baseline, c.metric)
    change = c.change_from_baseline or 0.0
    sign = "+" if change >= 0 else "−"
    now, delta = number(c.current, c.metric), f"{sign}{number(abs(change), c.metric)}"
    if lang == "ko":
        return f"이전 방문들의 중앙값 {base} → 오늘 {now} ({delta}). {verdict}"
    return f"Earlier visits' median {base} → today {now} ({delta}). {verdict}"

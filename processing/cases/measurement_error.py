"""Between-day measurement error: how much a value moves when nothing about the person changed.

One row per metric (:data:`MEASUREMENT_ERROR`): the standard error of measurement (SEM) between
days for community-dwelling or frail older adults, the station-to-station spread FrailWatch adds on
top (walkway length, chair height, dynamometer, rater), the population the number comes from, the
citation, how the number follows from it, and whether it is a FrailWatch choice rather than a
published figure. This is the *noise* side of decline detection; the clinical-meaning side — how
big a change matters — is :data:`processing.decline.DECLINE_RULES`. Each lives in one place.

Where a paper gives only the 95 % minimal detectable change, the SEM is MDC95 / (1.96·√2) (the
MDC95 is the reliable change of Jacobson & Truax 1991 in the metric's units). Relative rows (sway)
give the SEM as a fraction of the person's own level; the detector works on the logarithm of those
values, where a fraction is (to first order) a constant SEM. :func:`table_markdown` renders the
table for docs/scoring.md (a test keeps them equal).
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

MDC95_PER_SEM = 1.96 * math.sqrt(2.0)  # Jacobson & Truax 1991: reliable change = 1.96·√2·SEM

MANGIONE_2010 = (
    "Mangione KK, Craik RL, McCormick AA, et al. Detectable changes in physical performance measures "
    "in elderly African Americans. Phys Ther 2010;90(6):921–927"
)
DONOGHUE_2019 = (
    "Donoghue OA, Savva GM, Börsch-Supan A, Kenny RA. Reliability, measurement error and minimum "
    "detectable change in mobility measures: a cohort study of community-dwelling adults aged 50 years "
    "and over in Ireland. BMJ Open 2019;9(11):e030475"
)
OLSEN_2017 = (
    "Olsen CF, Bergland A. Reliability of the Norwegian version of the short physical performance "
    "battery in older people with and without dementia. BMC Geriatr 2017;17:124"
)
GOLDBERG_2012 = (
    "Goldberg A, Chavis M, Watkins J, Wilson T. The five-times-sit-to-stand test: validity, reliability "
    "and detectable change in older females. Aging Clin Exp Res 2012;24(4):339–344"
)
FERREIRA_2021 = (
    "Ferreira S, Raimundo A, Marmeleira J. Test-retest reliability of the functional reach test and the "
    "hand grip strength test in older adults using nursing home services. Ir J Med Sci "
    "2021;190(4):1625–1632"
)
RIEMANN_2017 = (
    "Riemann BL, Piersol K. Intersession reliability of self-selected and narrow stance balance testing "
    "in older adults. Aging Clin Exp Res 2017;29(5):1045–1048"
)
LIN_2008 = (
    "Lin D, Seol H, Nussbaum MA, Madigan ML. Reliability of COP-based postural sway measures and "
    "age-related differences. Gait Posture 2008;28(2):337–342"
)
DONG_2018 = (
    "Dong L, Qiao X, Tian X, et al. Cross-cultural adaptation and validation of the FRAIL scale in "
    "Chinese community-dwelling older adults. J Am Med Dir Assoc 2018;19(1):12–17"
)
JUNG_2016 = (
    "Jung H-W, Yoo H-J, Park S-Y, et al. The Korean version of the FRAIL scale: clinical feasibility and "
    "validity of assessing the frailty status of Korean elderly. Korean J Intern Med 2016;31(3):594–600"
)
STATION_CHOICE = (
    "Station spread: FrailWatch choice (walkway length and timing, chair height, device calibration, "
    "rater); Donoghue 2019 found the rater changed results on all but one mobility test."
)


class MeasurementError(BaseModel):
    """One metric's between-day error (one row of the table)."""

    model_config = ConfigDict(frozen=True)

    metric: str
    unit: str
    worse: Literal["lower", "higher"]
    sem: Annotated[float, Field(gt=0)] = Field(
        description="between-day SEM in the metric's unit, or as a fraction of the person's level if relative"
    )
    relative: bool = Field(description="errors scale with the level (judged on the log scale)")
    station_sd: Annotated[float, Field(ge=0)] = Field(
        description="SD of the offsets between stations, same scale as sem (FrailWatch choice)"
    )
    population: str
    citation: str
    basis: str = Field(description="how the SEM follows from the cited numbers")
    choice: bool = Field(description="the SEM is a FrailWatch choice, not one published figure")


_ROWS = (
    MeasurementError(
        metric="gait_speed_mps",
        unit="m/s",
        worse="lower",
        sem=0.07,
        relative=False,
        station_sd=0.04,
        population="community-dwelling adults ≥ 50 (TILDA/SHARE-Ireland, n = 128), retest after 1–4 "
        "months, rater changed at random",
        citation=f"{DONOGHUE_2019}; {MANGIONE_2010}",
        basis="Donoghue 2019: usual gait speed MDC95 19.5 cm/s → SEM = MDC95 / (1.96·√2) = 0.070 m/s. "
        "Mangione 2010: SEM 0.08 m/s in frail older African Americans (n = 52, 1 week).",
        choice=False,
    ),
    MeasurementError(
        metric="sppb_total",
        unit="points",
        worse="lower",
        sem=0.6,
        relative=False,
        station_sd=0.3,
        population="older people, mean age 88, with and without dementia (n = 61, two physiotherapists, "
        "2.5 days); frail older African Americans (n = 52, 1 week)",
        citation=f"{OLSEN_2017}; {MANGIONE_2010}",
        basis="Olsen & Bergland 2017: MDC95 0.8 point → SEM 0.29; Mangione 2010: SEM 1.2 points (ICC 0.81). "
        "0.6 (their geometric mean) for visits months apart at different stations.",
        choice=True,
    ),
    MeasurementError(
        metric="grip_max_kg",
        unit="kg",
        worse="lower",
        sem=1.5,
        relative=False,
        station_sd=1.0,
        population="older adults using nursing-home services, without cognitive impairment (n = 43, 1 week)",
        citation=FERREIRA_2021,
        basis="Ferreira 2021: dominant hand SEM 1.26 kg, MDC95 3.50 kg; rounded up to 1.5 kg for visits "
        "months rather than a week apart.",
        choice=True,
    ),
    MeasurementError(
        metric="chair_stand_5x_s",
        unit="s",
        worse="higher",
        sem=1.63,
        relative=False,
        station_sd=0.5,
        population="community-dwelling adults ≥ 50 (TILDA/SHARE-Ireland, n = 128), retest after 1–4 "
        "months, rater changed at random",
        citation=f"{DONOGHUE_2019}; {GOLDBERG_2012}",
        basis="Donoghue 2019: repeated chair stands MDC95 4.52 s (ICC 0.66) → SEM 1.63 s. Goldberg 2012: "
        "SEM 0.9 s, MDC95 2.5 s in older women (n = 29) — a shorter interval, one rater.",
        choice=False,
    ),
    MeasurementError(
        metric="tug_time_s",
        unit="s",
        worse="higher",
        sem=1.0,
        relative=False,
        station_sd=0.5,
        population="community-dwelling adults ≥ 50 (Donoghue 2019); frail older African Americans, most "
        "with walking aids (Mangione 2010)",
        citation=f"{DONOGHUE_2019}; {MANGIONE_2010}",
        basis="Donoghue 2019: MDC95 2.08 s → SEM 0.75 s; Mangione 2010: SEM 1.7 s. 1.0 s for a screening "
        "population that spans both.",
        choice=True,
    ),
    MeasurementError(
        metric="sway_mean_velocity_mm_s",
        unit="fraction of level",
        worse="higher",
        sem=0.20,
        relative=True,
        station_sd=0.10,
        population="healthy older adults > 65 (n = 30), two days 1.9 days apart, 45 s stances, "
        "eyes open and closed",
        citation=f"{RIEMANN_2017}; {LIN_2008}",
        basis="Riemann & Piersol 2017: SEM 15.9–23.6 % of the mean (medio-lateral COP velocity, ICC "
        "0.74–0.86); 20 %, the middle of that range. Lin 2008: mean velocity the most reliable COP measure.",
        choice=True,
    ),
    MeasurementError(
        metric="sway_ellipse95_area_mm2",
        unit="fraction of level",
        worse="higher",
        sem=0.40,
        relative=True,
        station_sd=0.15,
        population="healthy younger and older adults (n = 32), four days",
        citation=LIN_2008,
        basis="Lin 2008: sway area less reliable between days than mean velocity, with worse absolute "
        "reliability in the older group; no SEM as a fraction given: twice the velocity's 20 %.",
        choice=True,
    ),
    MeasurementError(
        metric="kfrail_score",
        unit="items",
        worse="higher",
        sem=0.6,
        relative=False,
        station_sd=0.0,
        population="Chinese community-dwelling older adults (n = 1235), retest after 7–15 days",
        citation=f"{DONG_2018}; {JUNG_2016}",
        basis="Dong 2018: FRAIL scale test–retest ICC 0.708; K-FRAIL (Jung 2016) has no published retest. "
        "SEM = SD·√(1 − ICC) with an assumed score SD of 1.1 items → 0.6 item. A questionnaire: the "
        "interviewer's effect is in the SEM, no station term.",
        choice=True,
    ),
    MeasurementError(
        metric="fried_count",
        unit="criteria",
        worse="higher",
        sem=0.6,
        relative=False,
        station_sd=0.2,
        population="none found",
        citation="Fried LP et al. J Gerontol A 2001;56(3):M146–M156 (criteria only)",
        basis="No between-day SEM of the Fried count found; taken equal to the K-FRAIL row. Two of its "
        "criteria are measured (gait, grip), hence a small station term.",
        choice=True,
    ),
    MeasurementError(
        metric="frailty_level",
        unit="levels",
        worse="higher",
        sem=0.5,
        relative=False,
        station_sd=0.0,
        population="derived",
        citation=f"K-FRAIL bands (robust 0, pre-frail 1–2, frail 3–5): {JUNG_2016}",
        basis="The level is the K-FRAIL (else Fried) score in bands: with a score SEM of 0.6 item a person "
        "at a band edge changes level about one visit in five; 0.5 level stands in for that.",
        choice=True,
    ),
)

#: metric → its between-day error. Every metric a domain is judged on has a row.
MEASUREMENT_ERROR: dict[str, MeasurementError] = {row.metric: row for row in _ROWS}


def table_markdown() -> str:
    """The table as Markdown (docs/scoring.md embeds it; a test keeps the copy equal)."""
    lines = [
        "| metric | between-day SEM | station spread | choice | population | basis | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in MEASUREMENT_ERROR.values():
        sem = f"{r.sem:.0%} of level" if r.relative else f"{r.sem:g} {r.unit}"
        station = f"{r.station_sd:.0%} of level" if r.relative else f"{r.station_sd:g} {r.unit}"
        choice = "FrailWatch choice" if r.choice else "published"
        lines.append(
            f"| `{r.metric}` | {sem} | {station} | {choice} | {r.population} | {r.basis} | {r.citation} |"
        )
    lines.append("")
    lines.append(f"Station spread (every row): {STATION_CHOICE}")
    return "\n".join(lines) + "\n"

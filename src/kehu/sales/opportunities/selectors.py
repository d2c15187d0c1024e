"""Reading opportunities: the pipeline board and the forecast. Both start from
``visible_to(user)`` and stay bulk: a fixed number of queries whatever the number of
opportunities (cards; totals; exchange rates; quotas), never one per row.

Conversion rule (board and forecast alike): amounts are converted to the reporting currency
(``money.reporting_currency()``) at the rate of the opportunity's date — the expected close
date of an open opportunity (today when it has none), the day a won one was closed. Amounts
of the same currency and day are added exactly first and converted and rounded once per
(currency, day); a weighted amount is Σ amount × probability / 100 of such a group, converted
and rounded the same way. An amount whose currency has no rate on or before its day is not
converted: it is reported apart (``unconverted``, per currency) with a warning."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from django.db.models import F, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.platform import money
from kehu.platform.access import team_tree_ids, visibility_scope, visible_to
from kehu.sales.opportunities import pipelines as pipeline_config
from kehu.sales.opportunities.models import (
    ForecastCategory,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    PipelineStage,
    Quota,
    StageKind,
)

HUNDRED = Decimal(100)
ZERO = Decimal(0)
CARDS_PER_COLUMN = 100


def _rt() -> Any:
    from kehu.sales.opportunities.records import OPPORTUNITY

    return OPPORTUNITY


def visible_opportunities(user: Any) -> QuerySet[Opportunity]:
    return visible_to(user, Opportunity.objects.all(), _rt())


@dataclass
class Filters:
    owner: int | None = None
    team: int | None = None
    close_from: datetime.date | None = None
    close_to: datetime.date | None = None

    def apply(self, queryset: QuerySet[Opportunity]) -> QuerySet[Opportunity]:
        if self.owner is not None:
            queryset = queryset.filter(owner_id=self.owner)
        if self.team is not None:
            queryset = queryset.filter(team_id=self.team)
        if self.close_from is not None:
            queryset = queryset.filter(expected_close_date__gte=self.close_from)
        if self.close_to is not None:
            queryset = queryset.filter(expected_close_date__lte=self.close_to)
        return queryset


# ---------------------------------------------------------------- converting in groups


class Converter:
    """Adds amounts exactly per (currency, day) and converts each group once (see the module
    docstring). ``add`` as many as needed, then ``resolve()`` (one query for the rates)."""

    def __init__(self) -> None:
        self.target = money.reporting_currency()
        self.groups: dict[tuple[str, datetime.date], Decimal] = defaultdict(Decimal)

    @staticmethod
    def exact(amount: Decimal, probability: Decimal | None = None) -> Decimal:
        with localcontext() as ctx:
            ctx.prec = money.PRECISION
            return amount if probability is None else amount * probability / HUNDRED

    def resolve_many(
        self, groups: dict[Any, dict[tuple[str, datetime.date], Decimal]]
    ) -> tuple[dict[Any, Decimal], dict[Any, dict[str, Decimal]]]:
        """``{bucket: {(currency, day): exact sum}}`` → ``{bucket: converted total}`` and
        ``{bucket: {currency: unconverted sum}}`` for the groups without a rate. One query."""
        pairs = {pair for sums in groups.values() for pair in sums}
        rates = money.rates_for({code for code, _day in pairs}, {day for _code, day in pairs}) if pairs else {}
        totals: dict[Any, Decimal] = {}
        missing: dict[Any, dict[str, Decimal]] = {}
        # money.convert_with(amount, rate, 1, target) inlined: thousands of groups on a big board
        target_quantum = money.quantum(self.target)
        with localcontext() as ctx:
            ctx.prec = money.PRECISION
            for bucket, sums in groups.items():
                total = ZERO
                for (code, day), amount in sums.items():
                    rate = rates.get((code, day))
                    if rate is None:
                        gaps = missing.setdefault(bucket, {})
                        gaps[code] = gaps.get(code, ZERO) + money.quantize(amount, code)
                        continue
                    total += (amount * rate).quantize(target_quantum, rounding=ROUND_HALF_UP)
                totals[bucket] = total.quantize(target_quantum, rounding=ROUND_HALF_UP)
        return totals, missing


def merge_missing(missing: dict[Any, dict[str, Decimal]]) -> dict[str, Decimal]:
    merged: dict[str, Decimal] = defaultdict(Decimal)
    for gaps in missing.values():
        for code, amount in gaps.items():
            merged[code] += amount
    return dict(merged)


def missing_rate_warning(unconverted: dict[str, Decimal]) -> list[str]:
    return [
        _("No exchange rate for %(currency)s: %(amount)s %(currency)s are not included in the converted totals.")
        % {"currency": code, "amount": amount}
        for code, amount in sorted(unconverted.items())
    ]


# ---------------------------------------------------------------- the board


@dataclass
class Column:
    stage: PipelineStage
    cards: list[Opportunity] = field(default_factory=list)
    count: int = 0
    amount: Decimal = ZERO
    weighted: Decimal = ZERO
    unconverted: dict[str, Decimal] = field(default_factory=dict)

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))

    @property
    def collapsed(self) -> bool:
        return self.stage.kind != StageKind.OPEN


@dataclass
class Board:
    pipeline: Pipeline | None
    columns: list[Column]
    currency: str
    warnings: list[str]
    filters: Filters


def board(
    user: Any, pipeline: Pipeline | None = None, filters: Filters | None = None, limit: int = CARDS_PER_COLUMN
) -> Board:
    """The open opportunities ``user`` may see in ``pipeline`` (the default one) by stage: at
    most ``limit`` cards per column (soonest expected close first) and every column's totals
    (count, amount and weighted amount in the reporting currency) over all of them. Queries:
    stages, cards, totals, rates."""
    filters = filters or Filters()
    pipeline = pipeline or pipeline_config.default_pipeline()
    currency = money.reporting_currency()
    if pipeline is None:
        return Board(None, [], currency, [], filters)
    stages = pipeline_config.stages_of(pipeline)
    columns = {stage.pk: Column(stage) for stage in stages}
    base = filters.apply(
        visible_opportunities(user).filter(pipeline=pipeline, status=OpportunityStatus.OPEN, stage_id__in=list(columns))
    )
    ranked = (
        base.select_related("customer", "owner")
        .only(
            "id",
            "number",
            "name",
            "stage_id",
            "amount",
            "currency",
            "probability",
            "expected_close_date",
            "version",
            "customer__id",
            "customer__name",
            "customer__number",
            "owner__id",
            "owner__username",
            "owner__first_name",
            "owner__last_name",
        )
        .annotate(
            row=Window(
                RowNumber(),
                partition_by=[F("stage_id")],
                order_by=[F("expected_close_date").asc(nulls_last=True), F("id").asc()],
            )
        )
        .filter(row__lte=limit)
        .order_by("stage_id", "row")
    )
    for card in ranked:
        columns[card.stage_id].cards.append(card)
    today = timezone.localdate()
    amounts: dict[Any, dict[tuple[str, datetime.date], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    weights: dict[Any, dict[tuple[str, datetime.date], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    with localcontext() as ctx:  # Converter.exact, once for all rows
        ctx.prec = money.PRECISION
        for stage_id, code, amount, probability, day in base.values_list(
            "stage_id", "currency", "amount", "probability", "expected_close_date"
        ).order_by():
            column = columns[stage_id]
            column.count += 1
            if amount is None:
                continue
            key = (code, day or today)
            amounts[stage_id][key] += amount
            weights[stage_id][key] += amount * (probability or ZERO) / HUNDRED
    converter = Converter()
    amount_totals, missing = converter.resolve_many(dict(amounts))
    weighted_totals, _gaps = converter.resolve_many(dict(weights))
    for stage_id, column in columns.items():
        column.amount = amount_totals.get(stage_id, ZERO)
        column.weighted = weighted_totals.get(stage_id, ZERO)
        column.unconverted = missing.get(stage_id, {})
    ordered = [columns[stage.pk] for stage in stages if stage.kind == StageKind.OPEN]
    ordered += [columns[stage.pk] for stage in stages if stage.kind != StageKind.OPEN]
    return Board(pipeline, ordered, currency, missing_rate_warning(merge_missing(missing)), filters)


def column_totals(user: Any, stage: PipelineStage, filters: Filters | None = None) -> Column:
    """One column's totals (after a move), without its cards."""
    result = board(user, stage.pipeline, filters, limit=0)
    return next(column for column in result.columns if column.stage.pk == stage.pk)


# ---------------------------------------------------------------- the forecast


@dataclass
class Period:
    key: str
    label: str
    start: datetime.date
    end: datetime.date  # inclusive


def periods_of(year: int, period: str) -> list[Period]:
    if period == "quarter":
        return [
            Period(
                f"{year}-Q{q}",
                f"Q{q} {year}",
                datetime.date(year, 3 * q - 2, 1),
                (datetime.date(year + (q == 4), (3 * q) % 12 + 1, 1) - datetime.timedelta(days=1)),
            )
            for q in range(1, 5)
        ]
    return [
        Period(
            f"{year}-{m:02d}",
            f"{year}-{m:02d}",
            datetime.date(year, m, 1),
            datetime.date(year + (m == 12), m % 12 + 1, 1) - datetime.timedelta(days=1),
        )
        for m in range(1, 13)
    ]


FIGURES = ("weighted", "pipeline", "best_case", "commit", "closed", "quota")


@dataclass
class Cell:
    weighted: Decimal = ZERO
    pipeline: Decimal = ZERO
    best_case: Decimal = ZERO
    commit: Decimal = ZERO
    closed: Decimal = ZERO  # won in the period
    quota: Decimal = ZERO
    open_count: int = 0
    won_count: int = 0

    def add(self, other: Cell) -> None:
        for name in (*FIGURES, "open_count", "won_count"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def attainment(self) -> Decimal | None:
        """Won as a percentage of the quota (one decimal)."""
        if not self.quota:
            return None
        return (self.closed * HUNDRED / self.quota).quantize(Decimal("0.1"))

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {name: str(getattr(self, name)) for name in FIGURES}
        data["open_count"], data["won_count"] = self.open_count, self.won_count
        data["attainment"] = str(self.attainment) if self.attainment is not None else None
        return data


@dataclass
class ForecastRow:
    user_id: int
    name: str
    cells: list[Cell]
    total: Cell


@dataclass
class Forecast:
    year: int
    period: str
    currency: str
    periods: list[Period]
    rows: list[ForecastRow]
    team_total: ForecastRow
    unconverted: dict[str, Decimal]
    warnings: list[str]

    def as_json(self) -> dict[str, Any]:
        def row(r: ForecastRow) -> dict[str, Any]:
            return {
                "owner": {"id": r.user_id, "name": r.name} if r.user_id else None,
                "periods": [{"period": p.key, **c.as_json()} for p, c in zip(self.periods, r.cells, strict=True)],
                "total": r.total.as_json(),
            }

        return {
            "year": self.year,
            "period": self.period,
            "currency": self.currency,
            "periods": [{"key": p.key, "start": p.start.isoformat(), "end": p.end.isoformat()} for p in self.periods],
            "rows": [row(r) for r in self.rows],
            "total": row(self.team_total),
            "unconverted": {code: str(amount) for code, amount in sorted(self.unconverted.items())},
            "warnings": self.warnings,
        }


def _quota_users(user: Any) -> QuerySet[Any]:
    """The users whose quotas ``user`` may see (the same scope as their records)."""
    from kehu.accounts.models import User

    scope = visibility_scope(user)
    users = User.objects.filter(is_active=True)
    if scope == "all":
        return users
    if scope in ("own", "none") or user.team_id is None:
        return users.filter(pk=user.pk)
    if scope == "team":
        return users.filter(team_id=user.team_id)
    return users.filter(team_id__in=team_tree_ids(user.team_id))


def forecast(
    user: Any, *, year: int, period: str = "month", owner: int | None = None, team: int | None = None
) -> Forecast:
    """Expected revenue of ``year`` per ``period`` (month or quarter) and owner, and the team
    total, in the reporting currency, over the opportunities ``user`` may see:

    - ``weighted``: Σ amount × probability / 100 of the open ones expected to close in the
      period (forecast category "omitted" left out);
    - ``pipeline``, ``best_case``, ``commit``: Σ amount of the open ones in that category;
    - ``closed``: Σ amount of the ones won in the period (by the day they were won);
    - ``quota``: the owners' quotas of the period's months.

    Queries: opportunities, quotas, rates, users."""
    from kehu.accounts.models import User

    if period not in ("month", "quarter"):
        period = "month"
    periods = periods_of(year, period)
    index_of = {
        p.start.month + offset: i for i, p in enumerate(periods) for offset in range((p.end.month - p.start.month) + 1)
    }
    first, last = periods[0].start, periods[-1].end
    scope = visible_opportunities(user)
    if owner is not None:
        scope = scope.filter(owner_id=owner)
    if team is not None:
        scope = scope.filter(team_id=team)
    tz = timezone.get_current_timezone()
    start_at = datetime.datetime.combine(first, datetime.time.min, tzinfo=tz)
    end_at = datetime.datetime.combine(last + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    open_rows = scope.filter(
        status=OpportunityStatus.OPEN,
        expected_close_date__gte=first,
        expected_close_date__lte=last,
        amount__isnull=False,
    ).values_list("owner_id", "currency", "amount", "probability", "forecast_category", "expected_close_date")
    won_rows = scope.filter(
        status=OpportunityStatus.WON, closed_at__gte=start_at, closed_at__lt=end_at, amount__isnull=False
    ).values_list("owner_id", "currency", "amount", "closed_at")

    groups: dict[Any, dict[tuple[str, datetime.date], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    counts: dict[tuple[int, int], list[int]] = defaultdict(lambda: [0, 0])
    owners: set[int] = set()
    for owner_id, code, amount, probability, category, day in open_rows.order_by():
        if amount is None or day is None:  # excluded by the query; for the type checker
            continue
        owners.add(owner_id)
        i = index_of[day.month]
        counts[(owner_id, i)][0] += 1
        if category == ForecastCategory.OMITTED:
            continue
        groups[(owner_id, i, "weighted")][(code, day)] += Converter.exact(amount, probability or ZERO)
        if category in (ForecastCategory.PIPELINE, ForecastCategory.BEST_CASE, ForecastCategory.COMMIT):
            groups[(owner_id, i, category)][(code, day)] += amount
    for owner_id, code, amount, closed_at in won_rows.order_by():
        if amount is None or closed_at is None:
            continue
        owners.add(owner_id)
        day = timezone.localtime(closed_at, tz).date()
        i = index_of[day.month]
        counts[(owner_id, i)][1] += 1
        groups[(owner_id, i, "closed")][(code, day)] += amount

    quota_users = _quota_users(user)
    if owner is not None:
        quota_users = quota_users.filter(pk=owner)
    if team is not None:
        quota_users = quota_users.filter(team_id=team)
    quotas = Quota.objects.filter(user__in=quota_users, period_start__gte=first, period_start__lte=last).values_list(
        "user_id", "currency", "amount", "period_start"
    )
    for user_id, code, amount, start in quotas:
        owners.add(user_id)
        groups[(user_id, index_of[start.month], "quota")][(code, start)] += amount

    totals, gaps = Converter().resolve_many(dict(groups))
    # amounts (not their weighted parts, nor quotas) left unconverted for want of a rate
    unconverted = merge_missing({key: value for key, value in gaps.items() if key[2] not in ("weighted", "quota")})
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=owners).only("id", "username", "first_name", "last_name")}
    rows = []
    team_cells = [Cell() for _p in periods]
    for owner_id in sorted(owners, key=lambda pk: (names.get(pk, "").lower(), pk)):
        cells = []
        for i, _p in enumerate(periods):
            cell = Cell(open_count=counts[(owner_id, i)][0], won_count=counts[(owner_id, i)][1])
            for name in FIGURES:
                setattr(cell, name, totals.get((owner_id, i, name), ZERO))
            cells.append(cell)
            team_cells[i].add(cell)
        total = Cell()
        for cell in cells:
            total.add(cell)
        rows.append(ForecastRow(owner_id, names.get(owner_id, str(owner_id)), cells, total))
    team_total = Cell()
    for cell in team_cells:
        team_total.add(cell)
    return Forecast(
        year=year,
        period=period,
        currency=money.reporting_currency(),
        periods=periods,
        rows=rows,
        team_total=ForecastRow(0, _("Total"), team_cells, team_total),
        unconverted=unconverted,
        warnings=missing_rate_warning(unconverted),
    )


def owners_for_filter(user: Any) -> QuerySet[Any]:
    """The users offered in the board's and forecast's owner filter."""
    return _quota_users(user).order_by("username")

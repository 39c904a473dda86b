"""Typed data passed between pipeline stages: findings, the campaign, ledgers, results."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from promo_cli.money import parse_decimal, parse_rate

if TYPE_CHECKING:
    import pandas as pd

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem or remark, pointing at the cell (or YAML line) it is about.

    ``row`` is the row number as Excel shows it (header = 1), or the line of the
    campaign file. ``blocking`` findings make the input invalid: nothing is settled
    or written (exit 1). Non-blocking ``error`` findings are settled but need review
    (exit 3). The message is rendered from ``code`` and ``params`` in the run's
    language by :mod:`promo_cli.messages`.
    """

    severity: Severity
    code: str
    params: tuple[tuple[str, Any], ...] = ()
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None
    blocking: bool = False
    cell: str | None = None        # "E17" when the column letter is known


def finding(severity: Severity, code: str, *, file=None, sheet=None, row=None, column=None,
            value=None, blocking: bool = False, cell=None, **params: Any) -> Finding:
    """Build a :class:`Finding`; keyword ``params`` feed its message template."""
    if value is not None and not isinstance(value, str):
        value = value if isinstance(value, (int, float)) else str(value)
    return Finding(severity, code, tuple(params.items()), file, sheet, row, column,
                   None if value is None else str(value)[:200], blocking, cell)


# --------------------------------------------------------------------------- campaign

def _rate(value: object) -> Decimal:
    try:
        rate = parse_rate(value)
    except ValueError:
        raise PydanticCustomError("not-a-rate", "{value} is not a rate (write 2% or 0.02)", {"value": str(value)}) from None
    if not Decimal(0) <= rate <= Decimal(1):
        raise PydanticCustomError("rate-out-of-range", "{value} is not a rate between 0% and 100%", {"value": str(value)})
    return rate


def _amount(value: object) -> Decimal:
    try:
        amount = parse_decimal(value)
    except ValueError:
        raise PydanticCustomError("not-an-amount", "{value} is not an amount", {"value": str(value)}) from None
    if amount < 0:
        raise PydanticCustomError("negative", "{value} must not be negative", {"value": str(value)})
    return amount


Rate = Annotated[Decimal, BeforeValidator(_rate)]
# A rebate or bonus rate above this is most likely a percent written as a fraction (0.5 for 0.5%).
PLAUSIBLE_RATE = Decimal("0.20")
Amount = Annotated[Decimal, BeforeValidator(_amount)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True,
                              coerce_numbers_to_str=True)


class Period(_Strict):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> "Period":
        if self.start > self.end:
            raise PydanticCustomError("period-reversed", "period.start is after period.end",
                                      {"start": self.start.isoformat(), "end": self.end.isoformat()})
        return self


class CampaignInfo(_Strict):
    id: str = Field(min_length=1)
    name: str = ""
    currency: str = "CNY"
    period: Period


class ParquetInput(_Strict):
    """A ledger in Parquet: a file, or a folder of files (Hive partitions become columns)."""
    parquet: str


class SqlInput(_Strict):
    """A ledger as a query's result: ``url`` is ``sqlite:///file.db`` or ``postgresql://host/db``
    (never with a password: credentials come from the environment)."""
    sql: str
    url: str


Input = Union[str, ParquetInput, SqlInput]


class Inputs(_Strict):
    purchases: Input | None = None
    payments: Input | None = None
    deposits: Input | list[Input] | None = None
    customers: Input | None = None
    baseline: Input | None = None     # a purchase ledger of an earlier period, for the evaluation
    targets: Input | None = None      # customers the campaign targeted (a customer_id column)
    products: Input | None = None     # product master: product, category, unit (for applies_to by category)
    agreements: Input | None = None   # per-customer agreements: customer, policy, rate or tiers, validity


class Tier(_Strict):
    from_: Amount = Field(alias="from")
    rate: Rate


def _check_tiers(tiers: list, first_from_zero: bool = False, what: str = "tiers") -> list:
    """Tiers (or levels) must exist and ascend strictly by ``from``."""
    if not tiers:
        raise PydanticCustomError(f"{what}-empty", "at least one of the {what} is needed", {"what": what})
    if first_from_zero and tiers[0].from_ != 0:
        raise PydanticCustomError(f"{what}-first-zero", "the first of the {what} must start at 0", {"what": what})
    for lower, upper in zip(tiers, tiers[1:]):
        if upper.from_ <= lower.from_:
            raise PydanticCustomError(f"{what}-ascend", "{what} must ascend: {upper} follows {lower}",
                                      {"what": what, "upper": str(upper.from_), "lower": str(lower.from_)})
    return tiers


Channel = Literal["dealer", "agent", "retailer", "end_customer"]


class AppliesTo(_Strict):
    """Which purchase rows a policy counts: by product, product category (the products
    ledger), channel and region (the customer master); ``exclude_`` forms leave rows out.
    A row whose value is unknown is outside a list that names what is in."""

    product: list[str] | None = None
    category: list[str] | None = None
    channel: list[Channel] | None = None
    region: list[str] | None = None
    exclude_product: list[str] | None = None
    exclude_category: list[str] | None = None
    exclude_channel: list[Channel] | None = None
    exclude_region: list[str] | None = None

    def uses(self, what: str) -> bool:
        return getattr(self, what) is not None or getattr(self, f"exclude_{what}") is not None


class _Policy(_Strict):
    id: str = Field(min_length=1)
    name: str = ""
    applies_to: AppliesTo | None = None


class Cap(_Strict):
    per_customer: Amount           # no customer earns more than this under the policy


class _RebatePolicy(_Policy):
    cap: Cap | None = None


class TieredPolicy(_RebatePolicy):
    type: Literal["tiered"]
    basis: Literal["amount", "quantity"] = "amount"
    mode: Literal["marginal", "whole"] = "marginal"
    tiers: list[Tier]
    # a rate table per product (or category), ``tiers`` for the rest: each product line its own ladder
    rates_by: Literal["product", "category"] | None = None
    tiers_by: dict[str, list[Tier]] = {}

    _tiers = field_validator("tiers")(classmethod(lambda cls, tiers: _check_tiers(tiers, first_from_zero=True)))
    _tiers_by = field_validator("tiers_by")(classmethod(
        lambda cls, tables: {key: _check_tiers(tiers, first_from_zero=True) for key, tiers in tables.items()}))

    @model_validator(mode="after")
    def _basis(self) -> "TieredPolicy":
        if self.tiers_by and self.rates_by is None:
            raise PydanticCustomError("tiers-by-without-rates-by", "tiers_by needs rates_by: product or category")
        if self.basis == "amount":
            for tier in self.tiers + [t for tiers in self.tiers_by.values() for t in tiers]:
                if (tier.from_ * 100) % 1:
                    raise PydanticCustomError("tier-decimals", "a tier's from is an amount: at most two decimals, "
                                              "not {value}", {"value": str(tier.from_)})
        return self


class OnTimePaymentPolicy(_RebatePolicy):
    type: Literal["on_time_payment"]
    rate: Rate
    grace_days: int = Field(default=0, ge=0)
    scope: Literal["order", "customer"] = "order"
    # 票扣/现扣: the customer may pay the order less its rebate; such rebate is taken, not payable
    deducted_at_payment: bool = False


class GroupPurchasePolicy(_RebatePolicy):
    type: Literal["group_purchase"]
    basis: Literal["quantity", "amount"] = "quantity"
    tiers: list[Tier]
    require_proof: bool = True
    within_days: int | None = Field(default=None, ge=0)   # a one-time purchase: first to last row

    _tiers = field_validator("tiers")(classmethod(lambda cls, tiers: _check_tiers(tiers)))


class DepositTier(_Strict):
    from_: Amount = Field(alias="from")
    bonus_rate: Rate = Decimal(0)
    voucher: Amount = Decimal(0)
    gift: Amount = Decimal(0)
    discount: Rate | None = None


class DeductionCap(_Strict):
    rate: Rate
    amount: Amount | None = None


class ExpiryPoints(_Strict):
    monthly_rate: Rate
    points_per_yuan: Amount = Decimal(1)


class Transfers(_Strict):
    within: Literal["family", "customer"] = "family"
    require_approval: bool = True


class Referral(_Strict):
    referrer_gift: Amount = Decimal(0)
    referee_bonus: Amount = Decimal(0)


class Target(_Strict):
    deposited: Amount | None = None
    new_customers: int | None = Field(default=None, ge=0)


class PrepaidDepositPolicy(_Policy):
    type: Literal["prepaid_deposit"]
    tiers: list[DepositTier]
    deduction_cap: DeductionCap | None = None
    validity_months: int | None = Field(default=None, ge=1)
    expiry_points: ExpiryPoints | None = None
    transfers: Transfers = Transfers()
    referral: Referral | None = None
    target: Target | None = None

    @model_validator(mode="after")
    def _no_scope(self) -> "PrepaidDepositPolicy":
        if self.applies_to is not None:
            raise PydanticCustomError("applies-to-deposits", "applies_to limits purchase rows; a deposit policy has none")
        return self

    _tiers = field_validator("tiers")(classmethod(lambda cls, tiers: _check_tiers(tiers)))


class Level(_Strict):
    name: str = Field(min_length=1)
    from_: Amount = Field(alias="from")
    discount: Rate = Decimal(0)
    points_per_yuan: Amount = Decimal(0)


class MembershipPolicy(_Policy):
    """Levels by spend in the period (or the master's member_level when ``use_master_level``)."""

    type: Literal["membership"]
    levels: list[Level]
    use_master_level: bool = False

    _levels = field_validator("levels")(classmethod(lambda cls, levels: _check_tiers(levels, what="levels")))


class PointsPolicy(_Policy):
    type: Literal["points"]
    points_per_yuan: Amount
    expiry_months: int | None = Field(default=None, ge=1)
    yuan_per_point: Amount | None = None      # what a point is worth to the campaign (its cost)
    # a return takes back: the points of its amount (never below zero), all the customer's purchase
    # points, none, or the points of its amount even below zero
    on_return: Literal["proportional", "all", "none", "allow_negative"] = "proportional"


class CouponTier(_Strict):
    from_: Amount = Field(alias="from")
    coupon: Amount


class CouponReturnPolicy(_Policy):
    type: Literal["coupon_return"]
    scope: Literal["order", "customer"] = "order"
    tiers: list[CouponTier]

    _tiers = field_validator("tiers")(classmethod(lambda cls, tiers: _check_tiers(tiers)))


class GiftRule(_Strict):
    channel: Channel | None = None
    top_n: int | None = Field(default=None, ge=1)
    top_percent: Rate | None = None
    min_spend: Amount | None = None
    bought_in_period: bool | None = None
    returning: bool | None = None               # bought before the period and again in it
    customers: list[str] | None = None          # an explicit recipient list


class GiftClass(_Strict):
    name: str = Field(min_length=1)
    grade: Literal["premium", "standard"] = "standard"
    unit_price: Amount
    per_recipient: int = Field(default=1, ge=1)   # gifts each recipient gets (the card is one)
    planned: int | None = Field(default=None, ge=0)   # recipients the plan budgets for (budget.xlsx)
    rule: GiftRule = GiftRule()


class GiftPolicy(_Policy):
    """Recipients by class (the first class whose rule matches), a gift per recipient and a card."""

    type: Literal["gift"]
    classes: list[GiftClass] = Field(min_length=1)
    card_cost: Amount = Decimal(0)


Policy = Annotated[
    Union[TieredPolicy, OnTimePaymentPolicy, GroupPurchasePolicy, PrepaidDepositPolicy, MembershipPolicy,
          PointsPolicy, CouponReturnPolicy, GiftPolicy],
    Field(discriminator="type"),
]
REBATE_POLICY_TYPES = ("tiered", "on_time_payment", "group_purchase")


GiveawayKind = Literal["bonus", "referral_bonus", "vouchers", "gifts", "discounts", "referral_gifts", "coupons",
                       "gift_recipients", "member_discounts", "points_given"]


class RebateCap(_Strict):
    amount: Amount
    rule: Literal["prorate", "first_come"] = "prorate"


class Budget(_Strict):
    # the most the campaign pays in rebates: every customer cut in proportion, or the earliest first
    rebate_cap: RebateCap | None = None
    promotion: dict[str, Amount] = {}
    customer_service: dict[str, Amount] = {}
    other: dict[str, Amount] = {}
    rebate_estimate: Amount = Decimal(0)
    # planned give-aways other than rebates, by the kind budget.xlsx reports (e.g. gifts, referral_gifts)
    giveaways: dict[GiveawayKind, Amount] = {}
    contingency_rate: Rate = Decimal(0)


class Evaluation(_Strict):
    margin_rate: Rate | None = None     # gross margin on sales, for the ROI


class Account(_Strict):
    code: str = Field(min_length=1)
    name: str = Field(min_length=1)


class Accounting(_Strict):
    """The accounts of the payout journal (a Chinese chart of accounts by default)."""

    expense: Account = Account(code="6601.09", name="销售费用-返利")
    payable: Account = Account(code="2241.01", name="其他应付款-客户返利")
    bank: Account = Account(code="1002", name="银行存款")
    receivable: Account = Account(code="1122", name="应收账款")
    goods: Account = Account(code="1405", name="库存商品")


class Campaign(_Strict):
    campaign: CampaignInfo
    inputs: Inputs = Inputs()
    policies: list[Policy] = Field(min_length=1)
    budget: Budget | None = None
    evaluation: Evaluation = Evaluation()
    accounting: Accounting = Accounting()
    engine: Literal["local", "duckdb", "spark"] | None = None    # where the policy maths runs (--engine)

    @field_validator("policies")
    @classmethod
    def _unique_ids(cls, policies: list) -> list:
        seen: set[str] = set()
        for policy in policies:
            if policy.id in seen:
                raise PydanticCustomError("policy-id-twice", "policy id {id} is used twice", {"id": policy.id})
            seen.add(policy.id)
        return policies

    @property
    def rebate_policies(self) -> list:
        return [p for p in self.policies if p.type in REBATE_POLICY_TYPES]


# --------------------------------------------------------------------------- ledgers

# ``_row`` of a ledger read from several sheets: sheet index × ROW_STRIDE + Excel row
# (a sheet has at most 1,048,576 rows), so every row names its sheet and its row.
ROW_STRIDE = 10_000_000


@dataclass(frozen=True, slots=True)
class Ledger:
    """A ledger read from one file: canonical columns plus ``_row`` (Excel row number).

    Money columns hold integer cents, date columns ``datetime64``, id and text
    columns ``str`` (or None when empty); ``order_id`` and ``payment_id`` are Arrow text
    (pandas ``str``, NaN when empty), see ``io.columns.ARROW_TEXT``.

    A ledger read from several sheets of one workbook keeps each sheet's name and headers in
    ``sheets`` and folds the sheet into ``_row`` (see ROW_STRIDE); :meth:`at` and
    :meth:`row_label` unfold it.
    """

    role: str
    path: Path
    sheet: str | None
    frame: pd.DataFrame
    sha256: str
    headers: dict[str, tuple[str, str]] = field(default_factory=dict)  # canonical → (header, letter)

    @property
    def rows(self) -> int:
        return self.spill.rows if self.spill is not None else len(self.frame)

    # A ledger merged from several files (deposits per store or month) keeps each row's
    # file in the ``_file`` column and each file's headers and sheet in ``parts``.
    parts: dict[str, "Ledger"] = field(default_factory=dict)

    sheets: tuple["Ledger", ...] = ()
    # a ledger that is a query's result: the query and its address (a SQLite file's made
    # absolute), for the audit's second reading
    query: "SqlInput | None" = None
    # a ledger read out of core: its typed rows on disk (engines.outofcore.Spill), ``frame`` empty
    spill: Any = None

    def at(self, column: str | None = None, row: int | None = None, file: str | None = None) -> dict[str, Any]:
        """Return finding keywords pointing at a cell of this ledger (header text, E17)."""
        if file is not None and file in self.parts:
            return self.parts[file].at(column, row)
        if self.sheets and row is not None:
            part, excel_row = divmod(int(row), ROW_STRIDE)
            return self.sheets[part].at(column, excel_row)
        header, letter = self.headers.get(column, (column, None)) if column else (None, None)
        return {"file": self.path.name, "sheet": self.sheet, "row": row, "column": header,
                "cell": f"{letter}{row}" if letter and row is not None else None}

    @property
    def label(self) -> str:
        return self.path.name

    def row_label(self, row: int | None) -> int | str | None:
        """One ``_row`` as a clerk finds it in the file: the Excel row, or ``8月!17`` when the
        ledger was read from several sheets."""
        if row is None or not self.sheets:
            return row
        part, excel_row = divmod(int(row), ROW_STRIDE)
        return f"{self.sheets[part].sheet}!{excel_row}"

    def row_labels(self, rows, file: bool = True) -> "pd.Series":
        """Where each of ``rows`` (``_row`` values) is, as a clerk finds it: ``file[sheet]!17``
        (``sheet!17`` without ``file``)."""
        import pandas as pd
        rows = pd.Series(rows, dtype="Int64").reset_index(drop=True)
        if not self.sheets:
            where = (f"{self.label}[{self.sheet}]" if self.sheet else self.label) if file else (self.sheet or "")
            return where + "!" + rows.astype("str")
        part, excel_row = rows // ROW_STRIDE, rows % ROW_STRIDE
        names = pd.Series([f"{self.label}[{s.sheet}]!" if file else f"{s.sheet}!" for s in self.sheets])
        return pd.Series(names.reindex(part.fillna(0).astype(int)).to_numpy(), index=rows.index) + excel_row.astype("str")


@dataclass(frozen=True, slots=True)
class Ledgers:
    purchases: Ledger | None = None
    payments: Ledger | None = None
    deposits: Ledger | None = None
    customers: Ledger | None = None
    baseline: Ledger | None = None
    targets: Ledger | None = None
    products: Ledger | None = None
    agreements: Ledger | None = None

    def present(self) -> list[Ledger]:
        """Every file read (the parts of a merged ledger one by one), for fingerprints."""
        out = []
        for ledger in (self.purchases, self.payments, self.deposits, self.customers, self.baseline, self.targets,
                       self.products, self.agreements):
            if ledger is not None:
                out += list(ledger.parts.values()) or [ledger]
        return out


# --------------------------------------------------------------------------- results

@dataclass(frozen=True, slots=True)
class CustomerResult:
    customer_id: str
    customer_name: str
    purchase_amount: int
    rebates: dict[str, int]

    @property
    def total_rebate(self) -> int:
        return sum(self.rebates.values())


@dataclass(frozen=True, slots=True)
class Settlement:
    """Everything a settlement computed; writers and the CLI render it."""

    campaign: Campaign
    campaign_path: Path
    campaign_sha256: str
    as_of: date
    ledgers: Ledgers
    customers: tuple[CustomerResult, ...]
    lines: pd.DataFrame            # every rebate line, see promo_cli.lines
    orders: pd.DataFrame           # every purchase row with how it was counted
    findings: tuple[Finding, ...]
    reconciliation: tuple[tuple[str, int, int, str], ...] = field(default=())
    # (customer_id, policy_id, engine cents, independently recomputed cents)
    recomputed: tuple[tuple[str, str, int, int], ...] = field(default=())
    deposits: dict[str, Any] = field(default_factory=dict)  # policy id → DepositResult
    # What approved earlier runs already settled, per (customer, policy); None = no history.
    settled_before: dict[tuple[str, str], int] | None = None
    run: dict[str, Any] = field(default_factory=dict)        # id, settled_before_run, repeat_of
    evaluation: dict[str, Any] | None = None                  # see promo_cli.evaluation
    loyalty: dict[str, Any] = field(default_factory=dict)     # policy id → LoyaltyResult
    segments: dict[str, Any] | None = None                    # see promo_cli.segmentation
    engine: dict[str, Any] = field(default_factory=lambda: {"name": "local", "partitions": 1})
    # Settled out of core (engines.outofcore): every line and order on disk (a Detail); ``lines``
    # then holds only the lines the totals need (pending, taken at payment) and ``orders`` the
    # purchase rows summed by day and status (``n`` rows each).
    detail: Any = None
    # a shard's settlement (engines.outofcore): its findings by where they come from, for the merge
    groups: dict[str, Any] | None = None

    @property
    def status(self) -> str:
        return "needs_review" if any(f.severity == "error" for f in self.findings) else "ok"

    @property
    def policy_ids(self) -> list[str]:
        return [p.id for p in self.campaign.rebate_policies]

    def total_by_policy(self) -> dict[str, int]:
        return {pid: sum(c.rebates[pid] for c in self.customers) for pid in self.policy_ids}

    def before(self, customer: str, policy: str) -> int:
        return (self.settled_before or {}).get((customer, policy), 0)

    def dropped(self) -> list[tuple[str, str]]:
        """(customer, policy) pairs settled earlier that this run no longer has (full claw-back)."""
        current = {c.customer_id for c in self.customers}
        return sorted(k for k in (self.settled_before or {}) if k[0] not in current)

    def settled_before_by_policy(self) -> dict[str, int]:
        out = dict.fromkeys(self.policy_ids, 0)
        for (_, pid), cents in (self.settled_before or {}).items():
            if pid in out:
                out[pid] += cents
        return out

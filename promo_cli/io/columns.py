"""The one place that knows ledger columns: canonical names, aliases, value kinds.

Headers match case- and space-insensitively against the canonical name or any alias
(simplified Chinese, traditional Chinese, English).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

ValueKind = Literal["id", "text", "money", "number", "date", "bool", "deposit_kind", "channel", "payout_method"]


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ValueKind
    required: bool
    aliases: tuple[str, ...]


def _c(name: str, kind: ValueKind, required: bool, *aliases: str) -> Column:
    return Column(name, kind, required, aliases)


# Id columns whose values are (nearly) all different: kept as Arrow text (pandas "str", NaN where
# missing) rather than one Python string per row. Other id and text columns hold Python strings
# (None where missing); their values repeat and are shared.
ARROW_TEXT = frozenset({"order_id", "payment_id"})

LEDGER_COLUMNS: dict[str, tuple[Column, ...]] = {
    "purchases": (
        _c("order_id", "id", True, "订单号", "訂單號", "单号", "單號", "订单编号", "訂單編號",
           "order id", "order no", "order number"),
        _c("customer_id", "id", True, "客户编号", "客戶編號", "客户代码", "客戶代碼",
           "customer id", "customer code", "customer no"),
        _c("customer_name", "text", False, "客户名称", "客戶名稱", "客户", "客戶", "customer name",
           "customer"),
        _c("order_date", "date", True, "订单日期", "訂單日期", "日期", "合同日期", "order date", "date"),
        _c("amount", "money", True, "金额", "金額", "采购金额", "採購金額", "含税金额", "含稅金額",
           "amount", "purchase amount"),
        _c("quantity", "number", False, "数量", "數量", "qty", "quantity"),
        _c("product", "text", False, "产品", "產品", "产品编号", "產品編號", "product", "product code"),
        _c("due_date", "date", False, "付款截止日期", "到期日", "付款期限", "due date", "payment due"),
        _c("group_id", "id", False, "团购编号", "團購編號", "团购号", "團購號", "group id", "group"),
        _c("group_proof", "text", False, "团购证明", "團購證明", "group proof", "proof"),
        _c("points_redeemed", "number", False, "积分抵扣", "積分抵扣", "使用积分", "使用積分", "兑换积分", "兌換積分",
           "抵扣积分", "抵扣積分", "points redeemed", "redeemed points"),
    ),
    "payments": (
        _c("payment_id", "id", True, "付款单号", "付款單號", "收款单号", "收款單號", "payment id",
           "receipt no", "voucher no"),
        _c("order_id", "id", True, "订单号", "訂單號", "order id", "order no"),
        _c("customer_id", "id", False, "客户编号", "客戶編號", "customer id"),
        _c("payment_date", "date", True, "付款日期", "收款日期", "payment date", "date"),
        _c("amount", "money", True, "金额", "金額", "付款金额", "付款金額", "收款金额", "收款金額",
           "amount", "paid"),
    ),
    "deposits": (
        _c("txn_id", "id", True, "流水号", "流水號", "txn id", "transaction id"),
        _c("account_id", "id", False, "账户", "賬戶", "帐户", "帳戶", "account", "account id"),
        _c("customer_id", "id", True, "客户编号", "客戶編號", "customer id"),
        _c("txn_date", "date", True, "日期", "交易日期", "date", "txn date"),
        _c("kind", "deposit_kind", True, "类型", "類型", "type", "kind"),
        _c("amount", "money", True, "金额", "金額", "amount"),
        _c("bill_amount", "money", False, "消费金额", "消費金額", "bill amount", "bill"),
        _c("to_account", "id", False, "转入账户", "轉入賬戶", "to account"),
        _c("approved", "bool", False, "已审核", "已審核", "approved"),
    ),
    "customers": (
        _c("customer_id", "id", True, "客户编号", "客戶編號", "客户代码", "客戶代碼", "customer id"),
        _c("customer_name", "text", False, "客户名称", "客戶名稱", "customer name", "name"),
        _c("channel", "channel", False, "渠道", "客户类型", "客戶類型", "channel"),
        _c("member_level", "text", False, "会员等级", "會員等級", "member level", "level"),
        _c("referrer_id", "id", False, "推荐人", "推薦人", "推荐人编号", "推薦人編號", "referrer",
           "referrer id"),
        _c("family_id", "id", False, "家庭编号", "家庭編號", "family", "family id"),
        _c("first_purchase_date", "date", False, "首次购买日期", "首次購買日期", "first purchase date",
           "first purchase"),
        _c("region", "text", False, "地区", "地區", "区域", "區域", "region"),
        _c("phone", "text", False, "电话", "電話", "联系电话", "聯繫電話", "手机", "phone", "telephone"),
        _c("address", "text", False, "地址", "联系地址", "聯繫地址", "收货地址", "address"),
        _c("payout_method", "payout_method", False, "发放方式", "發放方式", "返利发放方式", "返利發放方式",
           "payout method", "payout"),
        _c("bank_name", "text", False, "开户行", "開戶行", "开户银行", "開戶銀行", "bank", "bank name"),
        _c("account_name", "text", False, "户名", "戶名", "账户名称", "賬戶名稱", "收款人", "account name",
           "payee"),
        _c("account_no", "id", False, "账号", "賬號", "银行账号", "銀行賬號", "收款账号", "收款賬號",
           "account no", "account number"),
    ),
    "agreements": (
        _c("customer_id", "id", True, "客户编号", "客戶編號", "customer id"),
        _c("policy", "id", True, "政策", "政策编号", "政策編號", "policy", "policy id"),
        _c("rate", "text", False, "比例", "返利比例", "rate"),
        _c("tiers", "text", False, "档位", "檔位", "阶梯", "階梯", "tiers"),
        _c("valid_from", "date", False, "生效日期", "开始日期", "開始日期", "valid from"),
        _c("valid_to", "date", False, "失效日期", "结束日期", "結束日期", "valid to"),
    ),
    "products": (
        _c("product", "id", True, "产品", "產品", "产品编号", "產品編號", "商品编码", "商品編碼", "product",
           "product code"),
        _c("category", "text", False, "品类", "品類", "产品类别", "產品類別", "类别", "類別", "产品线", "產品線",
           "category", "product line"),
        _c("unit", "text", False, "单位", "單位", "unit"),
    ),
}

# Values of enumerated columns: canonical value → accepted spellings.
DEPOSIT_KINDS = {
    "deposit": ("deposit", "预存", "預存", "充值", "存入"),
    "consume": ("consume", "消费", "消費", "使用"),
    "transfer": ("transfer", "转移", "轉移", "转账", "轉賬"),
}
CHANNELS = {
    "dealer": ("dealer", "经销商", "經銷商"),
    "agent": ("agent", "代理商"),
    "retailer": ("retailer", "零售商"),
    "end_customer": ("end_customer", "end customer", "终端客户", "終端客戶"),
}
PAYOUT_METHODS = {
    "bank": ("bank", "bank transfer", "银行转账", "銀行轉賬", "银行", "銀行", "转账", "轉賬"),
    "cheque": ("cheque", "check", "支票"),
    "ewallet": ("ewallet", "e-wallet", "电子钱包", "電子錢包", "微信", "支付宝", "支付寶"),
    "offset": ("offset", "账扣", "賬扣", "冲抵货款", "沖抵貨款", "抵扣货款", "抵扣貨款"),
    "goods": ("goods", "货补", "貨補", "货物", "貨物"),
}
BOOLEANS = {
    True: ("yes", "y", "true", "1", "是", "已审核", "已審核", "approved", "√", "✓"),
    False: ("no", "n", "false", "0", "否", "未审核", "未審核", ""),
}

_SPACE = re.compile(r"[\s\u00a0\u3000_\u200b-\u200f\u2060\ufeff]+")
# A unit in brackets after the name: 金额(元), 金额（元）, 数量[件], Amount (CNY).
_UNIT = re.compile(r"^(.+?)[(\[](.*)[)\]]$")
# Units that say what the canonical column already means (yuan, pieces): dropped for matching.
# Any other unit (万元, 千元, USD, 吨) would change the figures: such a header is refused.
PLAIN_UNITS = frozenset({"元", "人民币", "人民币元", "cny", "rmb", "¥", "yuan", "件", "个", "個", "pcs", "箱",
                         "套", "台", "只", "qty", "含税", "含稅", "税价合计", "yyyy-mm-dd", "年月日"})


def _fold(text: object) -> str:
    # NFKC: full-width letters, digits and brackets (（元）, ＡＭＯＵＮＴ) as their ASCII forms
    return _SPACE.sub("", unicodedata.normalize("NFKC", str(text))).casefold()


def header_unit(text: object) -> tuple[str, str] | None:
    """A header cell's name and the unit in its brackets, folded (``金额（万元）`` →
    ``("金额", "万元")``), or None without a unit."""
    match = _UNIT.match(_fold(text))
    return (match.group(1), match.group(2)) if match else None


def normalise_header(text: object) -> str:
    """Return a header cell folded for matching: no spaces or underscores, case-folded,
    full-width forms as ASCII, a plain unit (``(元)``) dropped. A header whose unit would
    change the figures (``金额(万元)``) keeps it, so it matches no column."""
    folded = _fold(text)
    match = _UNIT.match(folded)
    if match and match.group(2) in PLAIN_UNITS:
        return match.group(1)
    return folded


def header_index(role: str) -> dict[str, Column]:
    """Return {normalised header: column} for a ledger role."""
    index: dict[str, Column] = {}
    for column in LEDGER_COLUMNS[role]:
        for spelling in (column.name, *column.aliases):
            index.setdefault(normalise_header(spelling), column)
    return index


def enum_index(values: dict) -> dict[str, object]:
    """Return {folded spelling: canonical value} for an enumerated column."""
    return {normalise_header(s): key for key, spellings in values.items() for s in spellings}

"""Labels of workbook headers and terminal output, in Chinese (default) and English.

Only what people read changes with ``--lang``; sheet names, finding codes and the
keys of ``summary.json`` never do.
"""

from __future__ import annotations

LABELS: dict[str, tuple[str, str]] = {
    # title block
    "campaign": ("活动", "Campaign"), "period": ("活动期间", "Period"), "as_of": ("结算日", "As of"),
    "settled_on": ("结算引擎", "Settled on"),
    "status": ("状态", "Status"), "generated_at": ("生成时间", "Generated at"),
    "tool_version": ("工具版本", "Tool version"), "currency": ("币种", "Currency"),
    "ok": ("正常", "ok"), "needs_review": ("需复核", "needs review"),
    # summary / lines / orders
    "customer_id": ("客户编号", "Customer ID"), "customer_name": ("客户名称", "Customer name"),
    "purchase_amount": ("期内净采购额", "Net purchases in period"),
    "total_rebate": ("返利合计", "Total rebate"), "total": ("合计", "Total"),
    "policy": ("政策", "Policy"), "kind": ("明细类型", "Line type"), "ref": ("参考", "Reference"),
    "lower": ("档位下限", "Tier from"), "upper": ("档位上限", "Tier to"),
    "base": ("计算基数", "Base"), "rate": ("比率", "Rate"), "exact": ("精确金额", "Exact amount"),
    "rebate": ("返利", "Rebate"), "due_date": ("付款截止日期", "Due date"),
    "paid_on": ("付清日期", "Paid in full on"), "note": ("说明", "Explanation"),
    "source": ("来源", "Source"), "source_row": ("台账行号", "Ledger row"),
    "order_id": ("订单号", "Order ID"), "order_date": ("订单日期", "Order date"),
    "amount": ("金额", "Amount"), "quantity": ("数量", "Quantity"), "group_id": ("团购编号", "Group ID"),
    "counted": ("计入情况", "Counted"),
    "tier-slice": ("阶梯分段", "tier slice"), "whole": ("整额", "whole amount"),
    "order": ("订单", "order"), "group-share": ("团购分摊", "group share"),
    "before-start": ("早于活动开始", "before start"), "after-end": ("晚于活动结束", "after end"),
    "after-as-of": ("晚于结算日", "after as-of"),
    # policy sheet
    "policy_id": ("政策编号", "Policy ID"), "policy_name": ("政策名称", "Policy name"),
    "type": ("类型", "Type"), "parameter": ("参数", "Parameter"), "value": ("值", "Value"),
    # budget
    "category": ("类别", "Category"), "item": ("项目", "Item"), "planned": ("预算", "Planned"),
    "actual": ("实际", "Actual"), "actual_cost": ("实际花费", "Actual cost"), "target_value": ("目标值", "Target"),
    "customer_rows": ("该客户期内全部订单的合计(见 Orders 表)", "sum of the customer's in-period orders (see Orders)"),
    "group_rows": ("团购全部订单的合计(见 Orders 表):", "sum of the group's orders (see Orders):"),
    "gift_delivery": ("礼品配送", "Gift delivery"), "gifts_stock": ("礼品备货", "Gifts in stock"),
    "accounts_agreeing": ("账户期末余额一致的个数", "accounts whose closing balance agrees"),
    "taken-at-payment": ("票扣已扣", "taken at payment"), "cap": ("封顶", "cap"), "budget-cap": ("活动封顶", "budget cap"),
    "cap_rows": ("该客户在本政策上面各行的合计超过封顶的部分", "the part of this customer's lines above that exceeds the cap"),
    "left_out": ("未计入的政策", "Left out of"),
    "left_out_because": ("{policy}:{what} {value} 不在适用范围", "{policy}: {what} {value} is outside its applies_to"),
    "unknown_value": ("(未知)", "(unknown)"), "criterion_product": ("产品", "product"),
    "criterion_category": ("品类", "category"), "criterion_channel": ("渠道", "channel"),
    "criterion_region": ("地区", "region"),
    "coupons_issued": ("返券张数", "Coupons issued"), "recipients": ("受赠客户", "Recipients"),
    "shift_years": ("台账平移 {n} 年", "ledger moved {n} years"), "shift_days": ("台账平移 {n} 天", "ledger moved {n} days"),
    "campaign_changed": ("活动文件(政策)已改变", "the campaign file (policy) changed"),
    "ledger_changed": ("{role}台账已改变", "the {role} ledger changed"), "input": ("输入", "Input"),
    "id": ("运行", "Run"), "fingerprint": ("指纹", "Fingerprint"), "out_dir": ("输出文件夹", "Output folder"),
    "approved_at": ("审核时间", "Approved at"), "approval_note": ("审核说明", "Approval note"),
    "accepted_findings": ("接受的问题", "Accepted findings"), "reopen_reason": ("重开原因", "Reopen reason"),
    "campaign_sha256": ("活动文件 SHA-256", "Campaign file SHA-256"),
    "book_figure": ("账面数", "Book figure"), "check_figure": ("核对数", "Check figure"), "variance": ("差异", "Variance"),
    "variance_pct": ("差异率", "Variance %"),
    "promotion": ("宣传推广", "Promotion"), "customer_service": ("客户服务", "Customer service"),
    "other": ("其他", "Other"), "rebate_cost": ("返利及赠送", "Rebates and give-aways"),
    "subtotal": ("小计", "Subtotal"), "contingency": ("不可预见费", "Contingency"),
    "budget_total": ("预算总额", "Total budget"),
    "online": ("线上", "online"), "offline": ("线下", "offline"), "hotline": ("热线", "hotline"),
    "follow_up": ("回访", "follow-up"), "materials": ("物料", "materials"),
    "rebate_estimate": ("返利预估", "rebate estimate"),
    # audit
    "severity": ("严重程度", "Severity"), "code": ("代码", "Code"), "message": ("说明", "Message"),
    "file": ("文件", "File"), "sheet": ("工作表", "Sheet"), "row": ("行", "Row"),
    "column": ("列", "Column"), "cell": ("单元格", "Cell"),
    "error": ("错误", "error"), "warning": ("警告", "warning"), "info": ("提示", "info"),
    "check": ("核对项", "Check"), "expected": ("应为", "Expected"), "difference": ("差额", "Difference"),
    "agrees": ("一致", "Agrees"), "yes": ("是", "yes"), "no": ("否", "no"),
    "role": ("角色", "Role"), "path": ("路径", "Path"), "rows": ("行数", "Rows"),
    "purchases": ("采购", "purchases"), "payments": ("付款", "payments"),
    "customers": ("客户档案", "customers"),
    # a ledger's role in the audit report's Inputs (``deposits`` alone names a reconciliation)
    "role-purchases": ("采购", "purchases"), "role-payments": ("付款", "payments"),
    "role-deposits": ("预存流水", "deposits"), "role-customers": ("客户档案", "customers"),
    "role-baseline": ("去年同期采购(基准)", "baseline"), "role-targets": ("目标客户", "targets"),
    "role-products": ("产品档案", "products"), "role-agreements": ("客户协议", "agreements"),
    "campaign_file": ("活动文件", "campaign file"), "run_by": ("运行人", "Run by"),
    "purchases-in-period": ("期内采购额:台账 = 汇总", "Purchases in period: ledger = Summary"),
    "purchase-rows": ("采购台账行数 = 计入 + 未计入", "Purchase rows = counted + not counted"),
    "payments-until-as-of": ("付款:台账 = 已匹配 + 未匹配", "Payments: ledger = matched + unmatched"),
    "lines": ("明细合计 = 汇总", "Lines = Summary"),
    "deposits": ("预存 + 赠送 − 消费 − 过期 = 期末余额", "Deposited + bonus − consumed − expired = closing"),
    "lines-per-customer": ("明细 = 汇总(逐客户逐政策,一致的个数)",
                           "Lines = Summary per customer and policy (pairs that agree)"),
    "recompute-agrees": ("独立复算一致(逐客户逐政策,一致的个数)",
                         "Independent recomputation agrees (pairs that agree)"),
    "recompute-loyalty": ("会员与积分独立复算 = 引擎", "Loyalty: independent recomputation = engine"),
    "recompute-deposits": ("预存独立复算 = 引擎", "Deposits: independent recomputation = engine"),
    "reread-rows": ("数据行数:引擎 = 第二种读法", "Data rows: engine = second reading"),
    "reread-amount": ("金额列合计:引擎 = 第二种读法", "Amount column total: engine = second reading"),
    "payment-rows": ("付款台账行数 = 结算日前 + 结算日后", "Payment rows = until as-of + after as-of"),
    "engine": ("引擎结果", "Engine"), "recomputed": ("独立复算", "Recomputed"),
    # deposits
    "account": ("账户", "Account"), "opening": ("期初余额", "Opening"), "deposited": ("预存", "Deposited"),
    "bonus": ("赠送", "Bonus"), "consumed": ("消费抵扣", "Consumed"), "transfer_in": ("转入", "Transferred in"),
    "transfer_out": ("转出", "Transferred out"), "expired": ("过期", "Expired"), "closing": ("期末余额", "Closing"),
    "expiring_30": ("30天内到期", "Expiring in 30 days"), "expiring_60": ("60天内到期", "Expiring in 60 days"),
    "expiring_90": ("90天内到期", "Expiring in 90 days"), "lot": ("批次", "Lot"), "opened": ("存入日期", "Opened"),
    "expires": ("到期日", "Expires"), "origin": ("来源", "Origin"), "deposit": ("预存", "deposit"),
    "referral": ("推荐赠送", "referral"), "transfer": ("转移", "transfer"), "remaining": ("剩余", "Remaining"),
    "usable": ("可用", "usable"), "used_up": ("已用完", "used up"), "issue": ("问题", "Issue"),
    "txn_id": ("流水号", "Txn ID"), "date": ("日期", "Date"), "bill": ("消费金额", "Bill"),
    "limit": ("上限/可用", "Cap / available"), "cap-violation": ("超出抵扣上限", "over the deduction cap"),
    "overdraft": ("余额不足", "overdraft"), "referral_bonus": ("推荐赠送金额", "Referral bonus"),
    "vouchers": ("兑换券", "Vouchers"), "gifts": ("礼品", "Gifts"), "discounts": ("消费折扣", "Discounts given"),
    "referral_gifts": ("推荐人礼品", "Referrer gifts"), "target": ("目标", "Target"),
    "achievement": ("达成率", "Achievement"), "deposited_in_period": ("期内预存额", "Deposited in period"),
    "new_depositors": ("新预存客户", "New depositors"), "count": ("笔数", "Count"),
    "daily_deposits": ("每日预存", "Daily deposits"),
    "detail_in_csv": ("共 {rows} 行,行数太多不宜在此逐行复核:明细在本工作簿旁的 {file}(UTF-8,可用 Excel 打开)",
                      "{rows} rows, too many to review here: the detail is in {file} beside this workbook "
                      "(UTF-8, opens in Excel)"),
    "detail_in_parquet": ("共 {rows} 行,行数太多不宜在此逐行复核:明细在本工作簿旁的 {file}(Parquet,金额为精确到分的"
                          "decimal,可用 DuckDB、pandas 或数据仓库读取)",
                          "{rows} rows, too many to review here: the detail is in {file} beside this workbook "
                          "(Parquet, amounts as decimals exact to the cent, for DuckDB, pandas or a warehouse)"),
    # evaluation
    "campaign_window": ("活动期间", "Campaign"), "prior_period": ("前一同长期间", "Period just before"),
    "year_ago": ("去年同期", "Same period a year earlier"), "window": ("期间", "Period"), "from": ("起", "From"),
    "to": ("止", "To"), "sales": ("销售额", "Sales"), "growth": ("增长率", "Growth"),
    "participants": ("参与客户", "Participating customers"), "new_customers": ("新客户", "New customers"),
    "returning_customers": ("老客户", "Returning customers"), "campaign_cost": ("活动实际成本", "Campaign cost"),
    "incremental_sales": ("增量销售额", "Incremental sales"), "incremental_margin": ("增量毛利", "Incremental margin"),
    "product": ("产品", "Product"), "channel": ("渠道", "Channel"), "month": ("月份", "Month"),
    "in_campaign": ("活动期内", "In the campaign"), "sales_by_month": ("每月销售额", "Sales by month"),
    "baseline_vs_campaign": ("活动期与基期对比", "Campaign against baselines"),
    "dealer": ("经销商", "dealer"), "agent": ("代理商", "agent"), "retailer": ("零售商", "retailer"),
    "end_customer": ("终端客户", "end customer"),
    "forecast": ("预测", "Forecast"),
    # loyalty
    "targeted_responded": ("目标客户中期内购买(响应率)", "Targets who bought (response rate)"),
    "non_targets_bought": ("非目标老客户中期内购买(自然复购率)", "Other customers who bought (natural repurchase rate)"),
    "spend": ("期内消费", "Spend in period"), "customer_count": ("客户数", "Customers"), "level": ("会员等级", "Level"), "points": ("积分", "Points"),
    "discount_value": ("折扣金额", "Discount value"), "next_level": ("下一等级", "Next level"),
    "to_next_level": ("距下一等级", "To next level"), "earned": ("获得", "Earned"),
    "taken_back": ("退货扣回", "Taken back"), "balance": ("余额", "Balance"), "coupon": ("返券", "Coupon"),
    "class": ("类别", "Class"), "grade": ("档次", "Grade"), "premium": ("高档", "premium"),
    "standard": ("普通", "standard"), "unit_price": ("单价", "Unit price"), "card": ("贺卡", "Card"),
    "cost": ("费用", "Cost"), "share": ("占比", "Share"), "repurchase_rate": ("复购率", "Repurchase rate"),
    "orders_in_period": ("期内订单数", "Orders in period"), "top_percent": ("前百分比客户", "Top customers"),
    "pareto": ("头部客户销售占比", "Share of sales of the top customers"),
    "lines_in": ("返利明细位置", "Lines are in"),
    "stage-reading": ("正在检查并读取台账…", "Checking and reading the ledgers…"),
    "stage-settling": ("正在计算返利并复核…", "Settling and cross-checking…"),
    "stage-writing": ("正在写入结果…", "Writing the outputs…"),
    # history
    "settled_before": ("已结算", "Settled before"), "payable": ("本次应付", "Payable this run"),
    "rebate_to_date": ("返利至今", "Rebate to date"),
    "per_recipient": ("每人份数", "Per recipient"),
    "region": ("地区", "Region"),
    "phone": ("电话", "Phone"),
    "address": ("地址", "Address"),
    "volume": ("销量(件)", "Volume (units)"), "volume_growth": ("销量增长", "Volume growth"),
    # campaign cost
    "rebates": ("返利", "Rebates"), "coupons": ("返送购物券(面值)", "Coupons issued (face value)"),
    "gift_recipients": ("赠礼(礼品+贺卡)", "Gifts to recipients (gift + card)"),
    "member_discounts": ("会员折扣", "Member discounts"),
    "points_given": ("积分(已兑换+余额,按每分价值)", "Points (redeemed + balance, at their value)"),
    "converted": ("预存过期转积分", "From expired deposits"),
    "converted_points": ("过期已转积分", "Points converted from expiry"), "redeemed": ("已兑换", "Redeemed"),
    "contingency_not_spent": ("预留,不计入实际花费", "a reserve: not part of the actual cost"),
    # payout
    "payout_title": ("返利发放清单", "Rebate payout"), "offsets_title": ("冲抵与追回(不经银行)",
                                                                    "Offsets and claw-backs (not through the bank)"),
    "payout_method": ("发放方式", "Payout method"), "bank_name": ("开户行", "Bank"), "account_name": ("户名", "Account name"),
    "account_no": ("账号", "Account no."), "reference": ("付款参考号", "Reference"), "none": ("(无)", "(none)"),
    "method-bank": ("银行转账", "bank transfer"), "method-cheque": ("支票", "cheque"),
    "method-ewallet": ("电子钱包", "e-wallet"), "method-offset": ("账扣(冲抵货款)", "offset against the account"),
    "method-goods": ("货补", "goods"),
    "statement_sheet": ("返利对账单", "Statement"), "statement_title": ("返利对账单", "Rebate statement"),
    "paid_before": ("此前已发放", "Paid before"), "this_payout": ("本次发放", "This payout"),
    "batch": ("发放批次", "Batch"), "approved_run": ("审核的运行", "Approved run"),
    "customer": ("客户", "Customer"), "state-sent": ("已发送,待银行确认", "sent, awaiting the bank"),
    "state-paid": ("已付款", "paid"), "state-failed": ("失败,下批再付", "failed, due again"),
    "state-offset": ("已冲抵", "offset"),
    "run": ("运行", "Run"), "approved_by": ("审核人", "Approved by"), "repeat_of": ("重复运行", "Repeat of"),
    "started_at": ("开始时间", "Started"), "campaign_id": ("活动编号", "Campaign"), "change": ("变动", "Change"), "reason": ("原因", "Reason"),
    # terminal
    "findings": ("发现的问题", "Findings"), "audit_report": ("审计报告", "Audit report"), "written": ("已写入", "Written"),
    "nothing_written": ("输入有误,未写入任何文件", "The input is invalid; nothing was written"),
}


def label(key: str, lang: str) -> str:
    """Return the label of ``key`` in ``lang`` (the key itself if unknown)."""
    pair = LABELS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "zh" else pair[1]


def engine_text(engine: dict, lang: str) -> str:
    """Where the rebate policies ran: ``duckdb, 4 partitions`` (``local`` when in one piece)."""
    name, partitions = engine.get("name", "local"), engine.get("partitions", 1)
    if partitions <= 1:
        return name
    if engine.get("out_of_core"):       # read in batches and settled shard by shard, never whole in memory
        return f"{name},{partitions} 个分片,分批读取" if lang == "zh" \
            else f"{name}, {partitions} shards, read in batches"
    return f"{name},{partitions} 个分区" if lang == "zh" else f"{name}, {partitions} partitions"

"""Every finding code and line note with its message in Chinese and English.

Findings carry a stable ``code`` and ``params``; the text is made here, in the run's
language (``--lang``), so the core never formats prose and the codes never change.
"""

from __future__ import annotations

import errno
import string
from typing import TYPE_CHECKING, Any

from promo_cli.i18n import label
from promo_cli.io.columns import LEDGER_COLUMNS
from promo_cli.model import Finding

if TYPE_CHECKING:
    import pyarrow as pa

Lang = str  # "zh" | "en"

DELIMITER_NAMES = {",": "逗号", ";": "分号", "tab": "制表符", "|": "竖线"}
# What a ledger role is called in a Chinese sentence (English keeps the role's own name).
ROLE_NAMES = {"purchases": "采购", "payments": "付款", "deposits": "预存流水", "customers": "客户档案",
              "baseline": "基期采购", "targets": "目标客户", "products": "产品档案", "agreements": "客户协议"}

# canonical column → its Chinese header (the first Chinese alias), for messages in zh
COLUMN_ZH = {c.name: next(a for a in c.aliases if not a.isascii())
             for columns in LEDGER_COLUMNS.values() for c in columns if any(not a.isascii() for a in c.aliases)}

CATALOG: dict[str, tuple[str, str]] = {
    # --- campaign file
    "campaign-not-found": ("找不到活动文件", "campaign file not found"),
    "campaign-encoding": ("活动文件不是 UTF-8 或 GB18030 文本", "the campaign file is not UTF-8 or GB18030 text"),
    "campaign-yaml": ("YAML 写法有误(在这一行或它前面):请检查括号、引号、冒号后的空格和缩进",
                      "YAML syntax error: {detail}"),
    "campaign-empty": ("活动文件是空的", "the campaign file is empty"),
    "campaign-duplicate-key": ("键 {key} 重复出现(第一次在第 {first} 行)",
                               "key {key} appears twice (first on line {first})"),
    "campaign-missing-key": ("缺少必填键 {key}", "required key {key} is missing"),
    "campaign-unknown-key": ("未知的键 {key}(拼写错误?)", "unknown key {key} (a typo?)"),
    "rate-implausible": ("{key} 写作 {value},按 {rate} 结算,高于 20%:如果本意是更小的比例,请写成 {meant}",
                         "{key} is written {value} and settled as {rate}, above 20%: if a smaller rate was meant, "
                         "write {meant}"),
    "rebate-over-estimate": ("结算返利 {rebate} 是返利预估 {estimate} 的 {times} 倍:请检查各政策的比例是否写错(0.5 表示 50%,0.5% 要写成 0.5%)",
                             "the settled rebate {rebate} is {times} times the estimate {estimate}: check the "
                             "policies' rates (0.5 means 50%; write 0.5% for half a percent)"),
    "campaign-invalid": ("{key}:{reason}", "{key}: {reason}"),
    # --- reading ledgers
    "input-missing": ("政策 {policy} 需要{role_name}台账:请用 --{role} 或在活动文件 inputs.{role} 中指定",
                      "policy {policy} needs the {role} ledger: give --{role} or inputs.{role} in the campaign file"),
    "file-not-found": ("找不到{role_name}文件", "{role} file not found"),
    "file-is-folder": ("这是一个文件夹,不是{role_name}文件", "this is a folder, not a {role} file"),
    "file-unreadable": ("无法读取文件:{reason}", "cannot read the file: {reason}"),
    "engine-not-available": ("{engine} 引擎需要可选组件 {extra},尚未安装:请运行 {command},或用 --engine local"
                             "(在本机内存中结算,结果相同)",
                             "the {engine} engine needs the optional part {extra}, which is not installed: run "
                             "{command}, or settle with --engine local (in memory, on this machine; same figures)"),
    "reread-failed": ("第二种读法未能读取此台账({reason}):它未与第二种读法核对",
                      "the second reading could not read this ledger ({reason}): it is not reconciled with it"),
    "engine-unknown": ("没有名为“{engine}”的结算引擎(环境变量 PROMO_ENGINE):可选 {names}",
                       "there is no engine called '{engine}' (the PROMO_ENGINE environment variable): choose one "
                       "of {names}"),
    "spark-master-invalid": ("Spark 集群地址“{value}”无效:应为 spark://主机:7077、yarn、k8s://… 或 local[*]"
                             "(--spark-master 或环境变量 PROMO_SPARK_MASTER)",
                             "'{value}' is not a Spark cluster address: give spark://host:7077, yarn, k8s://… or "
                             "local[*] (--spark-master or the PROMO_SPARK_MASTER environment variable)"),
    "engine-failed": ("{engine} 引擎无法运行({reason}):未结算,未写入任何文件。请检查集群地址(--spark-master),"
                      "或用 --engine local 在本机结算",
                      "the {engine} engine could not run ({reason}): nothing was settled or written. Check the "
                      "cluster's address (--spark-master), or settle on this machine with --engine local"),
    "parquet-empty-folder": ("文件夹里没有 Parquet 文件", "the folder holds no Parquet file"),
    "parquet-unreadable": ("无法读取 Parquet 文件:{reason}", "cannot read the Parquet data: {reason}"),
    "sql-password-in-url": ("数据库地址里写了密码:密码不能写在活动文件里,请用环境变量 PGPASSWORD 或 ~/.pgpass 提供",
                            "the database address holds a password: credentials never go in the campaign file; "
                            "give them by PGPASSWORD or ~/.pgpass"),
    "sql-unknown-database": ("不支持的数据库地址“{scheme}”:可用 sqlite:///文件.db 或 postgresql://主机/数据库",
                             "unsupported database address '{scheme}': use sqlite:///file.db or postgresql://host/db"),
    "sql-failed": ("查询失败:{reason}", "the query failed: {reason}"),
    "extra-missing": ("缺少可选组件 {extra}:请运行 {command}", "the optional part {extra} is not installed: run {command}"),
    "column-type-unsupported": ("列“{column}”的类型 {type} 无法作为台账的值读取",
                                "column '{column}' has type {type}, which a ledger value cannot be read from"),
    "float-column": ("列“{column}”以二进制浮点数存储,不能精确表示金额:已按每个值的最短十进制文本读取,"
                     "多于两位小数的值在其单元格提示;请在数据源中改为 decimal/numeric 类型",
                     "column '{column}' is stored as binary floating point, which cannot hold money exactly: each value "
                     "was read from its shortest decimal text and one with more decimals than cents is reported at "
                     "its cell; store it as decimal/numeric at the source"),
    "file-empty": ("{role_name}文件是空的", "the {role} file is empty"),
    "workbook-password": ("工作簿有密码保护:请另存为无密码的文件后再运行",
                          "password-protected: save it without a password and run again"),
    "workbook-corrupt": ("工作簿已损坏或不完整,无法打开:请在 Excel 中打开并另存为 .xlsx 后再试",
                         "the workbook is damaged or incomplete and cannot be opened ({reason})"),
    "workbook-truncated": ("文件不完整(下载或复制中断?):请重新保存或下载后再运行",
                           "the file is incomplete (an interrupted download or copy?): save or download it again"),
    "not-a-workbook": ("这是一个压缩包,但不是 Excel 工作簿(没有 xl/workbook.xml)",
                       "a zip archive, but not an Excel workbook (no xl/workbook.xml)"),
    "zip-bomb": ("工作簿中的 {part} 解压后约 {size} MB,是压缩大小的 {ratio} 倍(上限 {limit} 倍):"
                 "疑似“压缩炸弹”,已拒绝;若确为真实台账,可调高 --max-zip-ratio",
                 "{part} in the workbook unpacks to about {size} MB, {ratio} times its packed size "
                 "(limit {limit}): refused as a likely zip bomb; if it is a genuine ledger, raise --max-zip-ratio"),
    "zip-too-large": ("工作簿解压后共 {size} MB,超过上限 {limit} MB(--max-unzipped-mb)",
                      "the workbook unpacks to {size} MB, over the limit of {limit} MB (--max-unzipped-mb)"),
    "xml-entities": ("工作簿的 {part} 含有 XML 实体声明(Excel 从不写入),为安全起见已拒绝",
                     "{part} in the workbook declares XML entities, which Excel never writes: refused as unsafe"),
    "sheet-too-wide": ("工作表 {part} 用到了第 {column} 列,超过台账允许的 {max} 列:为保护内存已拒绝",
                       "sheet {part} uses column {column}, beyond the {max} columns a ledger may have: "
                       "refused to protect memory"),
    "sheet-too-large": ("工作表 {part} 声明了 {rows} 行 × {columns} 列({cells} 个单元格),超过上限 {max}:"
                        "为保护内存已拒绝",
                        "sheet {part} declares {rows} rows × {columns} columns ({cells} cells), over the "
                        "limit of {max}: refused to protect memory"),
    "mislabelled": ("文件扩展名是 {extension},内容其实是 {actual},已按 {actual} 读取",
                    "the file is named {extension} but is really {actual}; read as {actual}"),
    "not-a-ledger": ("不是 Excel 工作簿或 CSV 文本({reason})", "not an Excel workbook or CSV text ({reason})"),
    "read-as-text": ("按 {encoding} 编码、以{delimiter}分隔的文本读取", "read as {encoding} text separated by '{delimiter}'"),
    "gbk-behind-bom": ("文件开头标着 UTF-8,内容却是 GBK/GB18030 编码:已按 GB18030 读取",
                       "the file is marked UTF-8 but holds GBK/GB18030 text; read as GB18030"),
    "cr-line-endings": ("文件用旧式 Mac 换行符(只有 CR),已按行读取", "the file ends its lines with CR only (old Mac); read line by line"),
    "bare-cr": ("{count} 个单元格中夹有回车符(CR),已按空格读取",
                "{count} carriage returns (CR) inside values were read as spaces"),
    "title-lines": ("表头在第 {header_row} 行:上方 {count} 行标题/说明已跳过",
                    "the header is on row {header_row}: {count} title lines above it were skipped"),
    "text-guard": ("{count} 个单元格写成 =\"…\"(Excel 保护文本的写法),已按引号内的文本读取",
                   "{count} cells written =\"…\" (Excel's text guard) were read as the text inside"),
    "sheets-read": ("读取了 {count} 个工作表并合并:{sheets}", "{count} sheets read and joined: {sheets}"),
    "sheets-skipped": ("工作表 {sheets} 的表头不是{role_name}台账,已跳过", "sheets {sheets} do not have a {role} header; skipped"),
    "total-row-skipped": ("“{label}”行是合计行,已跳过(合计金额 {stated})",
                          "the '{label}' row is a total line and was skipped (its amount {stated})"),
    "total-row-differs": ("“{label}”行的合计 {stated} 与上方各行相加 {added} 不一致:台账可能不完整或被读错,请核对",
                          "the '{label}' line says {stated} but the rows above add up to {added}: the ledger may be "
                          "incomplete or misread; check it"),
    "footer-rows-skipped": ("合计行下方 {count} 行说明(制表人、打印时间等)已跳过",
                            "{count} note lines under the total (prepared by, printed at …) were skipped"),
    "ragged-row": ("这一行有 {fields} 个字段,表头只有 {headers} 列:各值可能错位,请检查该行(分隔符或引号)",
                   "this row has {fields} fields under {headers} headers: its values may sit in the wrong "
                   "columns; check its separators and quotes"),
    "unquoted-thousands": ("金额“{value}”中的千分位逗号没有加引号,被拆成了多个字段(这一行 {fields} 个字段,表头 {headers} 列):"
                           "请导出时给金额加引号或去掉千分位",
                           "the amount '{value}' has a thousands comma without quotes and was split into several "
                           "fields ({fields} fields under {headers} headers): export amounts quoted or without "
                           "separators"),
    "value-without-header": ("第 {letter} 列没有表头却有值(共 {count} 个):无法判断它属于哪一列,请补上表头或删除",
                             "column {letter} has no header but holds {count} values: they belong to no known "
                             "column; add a header or remove them"),
    "header-unit": ("表头“{column}”的单位是 {unit}:本工具只按元(金额)和件/个(数量)读取,请换算后再运行",
                    "the header '{column}' is in {unit}: amounts are read in yuan and quantities in pieces only; "
                    "convert the column and run again"),
    "formula-not-calculated": ("公式尚未计算(生成文件的程序没有算出结果):请用 Excel 或 WPS 打开并保存后再运行",
                               "formula not calculated (the program that wrote the file never computed it): open "
                               "and save it in Excel or WPS, then run again"),
    "formula-not-calculated-somewhere": ("工作表中有 {count} 个公式尚未计算或显示错误值(文件没有单元格地址,无法逐一指出):"
                                         "请用 Excel 或 WPS 打开并保存后再运行",
                                         "{count} formulas in the sheet are not calculated or show an error (the file "
                                         "has no cell references to name them): open and save it in Excel or WPS, "
                                         "then run again"),
    "cell-error": ("单元格显示错误值 {value},不是金额或日期:请先修正该单元格",
                   "the cell shows the error {value}, not a value: fix the cell first"),
    "decimal-comma": ("“{value}”使用了小数逗号(欧洲格式):请用小数点书写,如 1234.56",
                      "'{value}' uses a decimal comma (European format): write it with a decimal point, e.g. 1234.56"),
    "zero-date": ("日期单元格为 0 或只有时间(Excel 显示为 1900-01-00 或 0:00):没有日期",
                  "the date cell holds 0 or only a time (Excel shows 1900-01-00): no date"),
    "time-without-date": ("单元格只有时间 {value},没有日期", "the cell holds only a time ({value}), no date"),
    "id-normalised": ("编号“{shown}”含有不可见字符、全角字符或 =\"…\":已按“{read_as}”读取",
                      "id '{shown}' holds invisible or full-width characters or =\"…\": read as '{read_as}'"),
    "csv-malformed": ("CSV 格式有误:引号不成对、某个字段过长或含有空字符,请重新导出", "the CSV is malformed: {reason}"),
    "sheet-empty": ("工作表是空的,没有表头", "the sheet is empty: no header row"),
    "no-data-rows": ("{role_name}台账只有表头,没有数据行", "the {role} ledger has a header but no data rows"),
    "no-data-rows-needed": ("{role_name}台账只有表头,没有数据行,而政策 {policy} 需要它:导出可能为空或选错了文件",
                            "the {role} ledger has a header but no data rows, and policy {policy} needs it: the "
                            "export may be empty or the wrong file"),
    "missing-column": ("缺少必需的列“{column}”(可用的表头:{aliases});文件的表头是:{header}",
                       "required column {column} is missing (accepted headers: {aliases}); the file's header is: "
                       "{header}"),
    "not-this-ledger": ("看起来不是{role_name}台账:表头中没有任何必需的列({needed});第一行是:{header}",
                        "this does not look like a {role} ledger: none of the required columns ({needed}) "
                        "is in the header; its first row is: {header}"),
    "duplicate-column": ("列“{column}”与列“{other}”都表示 {canonical}",
                         "columns '{column}' and '{other}' both mean {canonical}"),
    "missing-value": ("必填值为空", "required value is empty"),
    "not-a-number": ("“{value}”不是金额或数字", "'{value}' is not an amount or a number"),
    "not-a-date": ("“{value}”不是日期(可用 2026-11-03、2026/11/3 或 2026年11月3日)",
                   "'{value}' is not a date (write 2026-11-03, 2026/11/3 or 2026年11月3日)"),
    "bad-value": ("“{value}”无法识别:{reason}", "'{value}' is not understood: {reason}"),
    "amount-rounded": ("金额“{value}”超过两位小数,已四舍五入为 {rounded}",
                       "amount '{value}' has more than two decimals; rounded half-up to {rounded}"),
    "duplicate-id": ("编号 {value} 重复(第一次在第 {first_row} 行)",
                     "id {value} appears again (first on row {first_row})"),
    "duplicate-id-across-files": ("编号 {value} 在 {first_file} 第 {first_row} 行已出现(同一笔流水被导出两次?)",
                                  "id {value} already appears in {first_file} row {first_row} (the same rows "
                                  "exported twice?)"),
    "more-like-this": ("同类问题({like})还有 {count} 处未逐一列出",
                       "{count} more problems of the same kind ({like}) not listed one by one"),
    # --- policies
    "missing-due-date": ("订单 {order} 没有付款截止日期,政策 {policy} 无法判断是否按时付款",
                         "order {order} has no due date: policy {policy} cannot tell whether it was paid on time"),
    "on-time-pending": ("政策 {policy}:{count} 笔订单(共 {amount})在结算日 {as_of} 尚未到付款截止日、也未付清:本次不返利,到期付清后在以后的结算中计入",
                        "policy {policy}: {count} orders ({amount}) are not yet due at {as_of} and not yet paid in "
                        "full: no rebate now; they count in a later settlement once paid by their due date"),
    "net-not-positive": ("客户 {customer} 期内净采购额为 {amount},政策 {policy} 不返利",
                         "customer {customer} has a net in-period amount of {amount}: no rebate under {policy}"),
    "group-spread": ("团购 {group} 的订单前后相隔 {days} 天:一次性团购(一次性采购)通常在几天内完成,请核对;"
                     "可在政策中用 within_days 限定",
                     "the orders of group {group} lie {days} days apart: a one-time group purchase is usually "
                     "done within days; check it (within_days in the policy sets a limit)"),
    "group-not-qualified": ("团购 {group} 不符合政策 {policy}:{why}",
                            "group {group} does not qualify under {policy}: {why}"),
    # --- prepaid deposits
    "deposit-negative": ("金额为负数,该行未处理", "the amount is negative; the row was not applied"),
    "deposit-outside-period": ("预存 {txn} 的日期不在活动期间内:按面值入账,不享受活动的赠送、兑换券、礼品、折扣和推荐奖励",
                               "deposit {txn} is dated outside the campaign period: its lot opens at face value and "
                               "earns nothing of the campaign (no bonus, voucher, gift, discount or referral reward)"),
    "referral-not-new": ("客户 {customer} 在活动开始前已有预存,不是新客户:推荐人 {referrer} 和本人都不享受推荐奖励",
                         "customer {customer} deposited before the campaign and is not a new customer: no referral "
                         "reward for it or its referrer {referrer}"),
    "referral-referrer-no-deposit": ("推荐人 {referrer} 在客户 {customer} 首次预存时自己还没有预存:不发推荐礼品(被推荐人的额外赠送照发)",
                                     "referrer {referrer} had made no deposit when {customer} first deposited: no "
                                     "referral gift (the referee's extra bonus stands)"),
    "consume-without-bill": ("消费 {txn} 没有消费金额,无法检查抵扣上限",
                             "consume {txn} has no bill amount: its deduction cap cannot be checked"),
    "cap-violation": ("消费 {txn} 用预存款抵扣 {amount},超过上限 {cap}(账单 {bill})",
                      "consume {txn} paid {amount} from the deposit, over the cap of {cap} (bill {bill})"),
    "overdraft": ("{txn} 需要 {amount},可用余额只有 {available}",
                  "{txn} needs {amount} but only {available} is usable"),
    "transfer-without-target": ("转移 {txn} 没有转入账户,未处理", "transfer {txn} has no target account; not applied"),
    "transfer-unknown-account": ("转移 {txn} 的转入账户 {target} 不存在,未处理",
                                 "transfer {txn} goes to account {target}, which does not exist; not applied"),
    "transfer-unapproved": ("转移 {txn}(转入 {target})未经审核,未处理",
                            "transfer {txn} to {target} is not approved; not applied"),
    "transfer-outside-family": ("转移 {txn} 的转入账户 {target} 不属于同一客户或家庭,未处理",
                                "transfer {txn} to {target} leaves the customer and the family; not applied"),
    # --- loyalty
    "applies-to-left-out": ("政策 {policy} 的适用范围(applies_to)不计入期内 {rows} 行(共 {amount}):原因见 Orders 表的“未计入的政策”列",
                            "policy {policy} leaves {rows} in-period rows ({amount}) out by its applies_to: the "
                            "Orders sheet's 'Left out of' column says why"),
    "budget-cap-applied": ("返利合计超过活动返利上限 {cap}:按 {rule} 规则共调减 {cut}(见 Lines 表“活动封顶”行)",
                           "the rebates exceed the campaign's cap {cap}: {cut} taken off by the {rule} rule (the "
                           "'budget cap' lines on Lines)"),
    "agreement-unknown-policy": ("协议中的政策 {policy} 不在活动文件中(客户 {customer})", "the agreement names policy {policy}, which the campaign does not have (customer {customer})"),
    "agreement-policy-type": ("政策 {policy} 不能按客户签协议(只有阶梯返利和按时付款返利可以;客户 {customer})",
                              "policy {policy} takes no per-customer agreement (only tiered and on-time policies do; customer {customer})"),
    "agreement-rate-or-tiers": ("客户 {customer} 的协议(政策 {policy})要写比例或档位之一(按时付款返利只能写比例)",
                                "the agreement of customer {customer} (policy {policy}) needs a rate or tiers, not both (an on-time policy: a rate)"),
    "agreement-bad-table": ("客户 {customer} 的协议(政策 {policy})的比例或档位“{value}”无法识别:档位写成 0:1%;100000:2%,从 0 开始、由低到高",
                            "the rate or tiers '{value}' of customer {customer}'s agreement (policy {policy}) is not understood: write tiers as 0:1%;100000:2%, from 0, ascending"),
    "agreement-unknown-customer": ("协议中的客户 {customer}(政策 {policy})在采购台账中没有任何采购:请核对客户编号",
                                   "customer {customer} of an agreement (policy {policy}) has no purchase in the ledger: "
                                   "check the id"),
    "applies-to-unused-value": ("政策 {policy} 的 {key} 中的“{value}”在期内订单中一次也没有出现:请核对编号(以 0 开头的编号要加引号)",
                                "'{value}' in {key} of policy {policy} appears in no in-period row: check the id (quote "
                                "ids with leading zeros)"),
    "agreement-overlap": ("客户 {customer} 在政策 {policy} 上有两份有效期重叠的协议", "customer {customer} has two agreements for policy {policy} whose windows overlap"),
    "tiers-by-unused": ("政策 {policy} 的 tiers_by 中 {key} 没有对应的期内订单({by}):该费率表未被使用;请核对编号(以 0 开头的编号要加引号)",
                        "{key} in tiers_by of policy {policy} matches no in-period row ({by}): its table is unused; "
                        "check the id (quote ids with leading zeros)"),
    "agreement-rate-implausible": ("客户 {customer} 的协议(政策 {policy})中比例 {value} 高于 20%:请确认不是把 0.5% 写成了 0.5",
                                   "the agreement of customer {customer} (policy {policy}) has a rate {value} above 20%: "
                                   "check that 0.5% was not written 0.5"),
    "gift-unknown-recipient": ("政策 {policy} 的“{gift_class}”名单中的客户 {customer} 既不在客户档案中,也没有采购:不送礼,请核对编号",
                               "customer {customer} on the '{gift_class}' list of policy {policy} is neither in the "
                               "customer master nor among the buyers: no gift; check the id"),
    "points-overdrawn": ("客户 {customer} 要兑换 {value} 积分,当时只有 {available} 积分可用(政策 {policy}):只扣了可用的积分,请核对",
                         "customer {customer} redeems {value} points but holds only {available} at the time (policy "
                         "{policy}): only those were taken; check the ledger"),
    "points-redeemed-invalid": ("兑换积分“{value}”不是非负整数(政策 {policy}):这一行不扣积分",
                                "points redeemed '{value}' is not a whole number of points (policy {policy}): none "
                                "taken on this row"),
    "unknown-member-level": ("客户 {customer} 在客户档案中的会员等级 {level} 不是政策 {policy} 的等级,按消费额定级",
                             "customer {customer} has member level {level} in the master, which policy {policy} does "
                             "not define; the level follows the spend"),
    # --- checks on the data
    "out-of-period": ("{count} 行不计入返利:{why}", "{count} rows not counted for rebates: {why}"),
    "payment-unknown-order": ("付款对应的订单 {order} 不在采购台账中",
                              "payment for order {order}, which is not in the purchase ledger"),
    "order-overpaid": ("订单 {order} 金额 {amount},已付 {paid},多付 {over}",
                       "order {order} of {amount} was paid {paid}: {over} too much"),
    "return-without-purchase": ("客户 {customer} 的退货(负数金额)之前没有采购",
                                "a return (negative amount) of customer {customer} with no earlier purchase"),
    "several-names": ("客户编号 {customer} 对应多个名称:{names}",
                      "customer id {customer} has several names: {names}"),
    "zero-amount": ("金额为零", "the amount is zero"),
    "sign-mismatch": ("金额与数量的正负号不一致", "amount and quantity have opposite signs"),
    "customer-not-in-master": ("客户 {customer} 不在客户档案中", "customer {customer} is not in the customer master"),
    "payment-customer-mismatch": ("付款的客户 {paid_by} 与订单 {order} 的客户 {customer} 不一致",
                                  "payment by customer {paid_by} for order {order} of customer {customer}"),
    "policy-not-supported": ("政策 {policy} 的类型 {type} 本版本尚不能结算",
                             "policy {policy} of type {type} cannot be settled by this version yet"),
    "reread-differs": ("用第二种简单读法重读本文件(至第 {upto} 行),{what}与引擎不一致:引擎 {engine},重读 {reread},"
                       "另有 {unreadable} 行的金额无法读出:台账可能被读错,请核对后再发放",
                       "a second, simple reading of the file (up to row {upto}) disagrees on the {what}: engine "
                       "{engine}, second reading {reread}, and {unreadable} rows whose amount it could not read: "
                       "the ledger may have been misread; check it before paying"),
    "recompute-mismatch": ("复核不一致:客户 {customer} 政策 {policy} 引擎算得 {engine},独立复算得 {recomputed}",
                           "recomputation differs: customer {customer}, policy {policy}: engine {engine}, "
                           "independent recomputation {recomputed}"),
    "recompute-deposit-mismatch": ("预存复核不一致:政策 {policy} 的 {what} 引擎算得 {engine},独立复算得 {recomputed}",
                                   "deposit recomputation differs: policy {policy}, {what}: engine {engine}, "
                                   "independent recomputation {recomputed}"),
    "recompute-loyalty-mismatch": ("会员/积分/购物券/赠礼复核不一致:政策 {policy} 的 {what} 引擎算得 {engine},独立复算得 {recomputed}",
                                   "loyalty recomputation differs: policy {policy}, {what}: engine {engine}, "
                                   "independent recomputation {recomputed}"),
    "history-approved": ("活动 {campaign} 截至 {as_of} 的结算已由 {by} 审核(运行 {run}),不能再次结算;"
                         "如确需重算,请加 --reopen \"原因\"",
                         "the settlement of {campaign} as of {as_of} was approved by {by} (run {run}) and cannot be "
                         "settled again; to redo it, add --reopen \"reason\""),
    "history-locked": ("另一个结算正在运行({holder}),本次未运行;锁文件 {path}",
                       "another settlement is running ({holder}); this one did not run. Lock file: {path}"),
    "history-no-run": ("结算历史 {path} 中没有运行 {run}", "no run {run} in the settlement history {path}"),
    "history-missing": ("找不到结算历史 {path}", "no settlement history at {path}"),
    "history-already-approved": ("运行 {run} 已于 {at} 由 {by} 审核,不能再次审核", "run {run} was already approved by {by} at {at}"),
    "history-closed": ("活动 {campaign} 已审核至 {latest}(运行 {run},{by} 审核):{as_of} 在已关闭的期间内,不能结算;"
                       "只有最近审核的结算日 {latest} 可以用 --reopen \"原因\" 重开",
                       "{campaign} is approved up to {latest} (run {run}, by {by}): {as_of} lies in a closed period and "
                       "cannot be settled; only the latest approved as-of, {latest}, can be reopened with --reopen \"reason\""),
    "approve-other-campaign": ("运行 {run} 属于活动 {campaign},不是 {expected}:未审核",
                               "run {run} belongs to campaign {campaign}, not {expected}: not approved"),
    "approve-no-approver": ("审核需要审核人:请用 --by \"姓名\" 注明(运行 {run} 未审核)",
                            "an approval needs an approver: give --by \"name\" (run {run} not approved)"),
    "approve-own-run": ("{by} 编制了运行 {run},不能自己审核:请由另一人(审计部)审核",
                        "{by} prepared run {run} and cannot approve it: another person (audit) must"),
    "approve-needs-review": ("运行 {run} 有需复核的错误:请先处理,或用 --accept-findings \"原因\" 说明为何仍然审核",
                             "run {run} has error findings to review: resolve them, or give --accept-findings "
                             "\"reason\" to approve it anyway"),
    "approve-closed": ("运行 {run}(截至 {as_of})早于已审核的运行 {latest_run}(截至 {latest}):审核它会让已审核的金额再次应付,未审核",
                       "run {run} (as of {as_of}) is older than the approved run {latest_run} (as of {latest}): approving "
                       "it would make approved amounts payable again; not approved"),
    "payout-not-approved": ("运行 {run} 尚未审核,不能发放:请先由审核人 promo approve",
                            "run {run} is not approved and cannot be paid out: approve it first (promo approve)"),
    "payout-not-latest": ("运行 {run}(截至 {as_of})不是活动最近审核的运行 {latest}(截至 {latest_as_of}):只能按最近审核的运行发放",
                          "run {run} (as of {as_of}) is not the campaign's latest approved run {latest} (as of "
                          "{latest_as_of}): only the latest approved run is paid out"),
    "payout-empty": ("运行 {run} 审核的返利已全部发放或冲抵:本批为空,未写入任何文件",
                     "everything approved in run {run} has been paid or offset already: an empty batch, nothing written"),
    "payout-no-method": ("客户 {customer} 应发 {amount},但客户档案中没有发放方式:本批暂不发放",
                         "customer {customer} is due {amount} but has no payout method in the customer master: held "
                         "back from this batch"),
    "payout-no-account": ("客户 {customer} 应发 {amount}(发放方式:{method}),但客户档案中没有账号:本批暂不发放,补上账号后下批发放",
                          "customer {customer} is due {amount} by {method} but has no account number in the customer "
                          "master: held back; it is paid in a later batch once the number is there"),
    "payout-already-confirmed": ("发放批次 {batch} 已于 {at} 确认,不能再次确认",
                                 "batch {batch} was confirmed at {at} and cannot be confirmed again"),
    "payout-unknown-reference": ("批次 {batch} 中没有这些待确认的付款参考号:{references};未记录任何结果",
                                 "batch {batch} has no payment awaiting the bank with the references {references}; "
                                 "nothing was recorded"),
    "payout-failed-file": ("无法读取银行回单 {path}:{reason}", "cannot read the bank's answer {path}: {reason}"),
    "history-no-batch": ("活动 {campaign} 在结算历史 {path} 中没有发放批次 {batch}",
                         "campaign {campaign} has no payout batch {batch} in the settlement history {path}"),
    "statement-lines-changed": ("运行 {run} 审核后台账或活动文件已改变:对账单只列金额,不列明细行",
                                "the ledgers or the campaign file changed since run {run} was approved: the statements "
                                "show the amounts but not the lines"),
    "settled-to-date": ("活动尚未结束(结束日 {end}):按今天 {as_of} 结算至今;用 --as-of 可指定其他结算日",
                        "the campaign has not ended yet (it ends {end}): settled to today, {as_of}; give --as-of for "
                        "another date"),
    "customer-dropped": ("客户 {customer} 在运行 {run} 中按政策 {policy} 已结算 {amount},本次没有期内采购:全额冲回",
                         "customer {customer} was settled {amount} under {policy} in run {run} and has no in-period "
                         "purchase now: all of it is clawed back"),
    "work-folder-failed": ("无法在临时文件夹 {folder} 写入分批结算的数据:{reason};未结算,未写入任何文件,也未记入结算历史。"
                           "每百万行约需 300 MiB,可用环境变量 TMPDIR 指向空间足够的磁盘",
                           "cannot write the data of a settlement in batches into the temporary folder {folder}: "
                           "{reason}; nothing was settled, written or recorded. It needs about 300 MiB per million "
                           "rows: point TMPDIR at a disk with room"),
    "cannot-write": ("无法在 {folder} 写入结果:{reason};未写入任何文件,也未记入结算历史",
                     "cannot write the outputs into {folder}: {reason}; nothing was written or recorded"),
    "as-of-before-start": ("结算日 {as_of} 早于活动开始 {start}:没有任何行计入",
                           "the as-of date {as_of} is before the campaign starts ({start}): no row counts"),
    "diff-campaigns": ("运行 {run_a}(活动 {campaign_a})和运行 {run_b}(活动 {campaign_b})不是同一个活动,不能比较",
                       "run {run_a} (campaign {campaign_a}) and run {run_b} (campaign {campaign_b}) belong to "
                       "different campaigns and cannot be compared"),
    "internal-error": ("内部错误:{reason}", "internal error: {reason}"),
}

# Reasons used inside other messages.
WHY: dict[str, tuple[str, str]] = {
    "rows": ("数据行数", "number of data rows"),
    "amount": ("金额列合计", "total of the amount column"),
    "before-start": ("订单日期早于活动开始", "order date before the campaign start"),
    "after-end": ("订单日期晚于活动结束", "order date after the campaign end"),
    "after-as-of": ("订单日期晚于结算日", "order date after the as-of date"),
    "no-proof": ("没有团购证明", "no proof of the group purchase"),
    "below-threshold": ("合计 {total} 未达到最低档 {threshold}", "total {total} is below the first tier {threshold}"),
    "unpaid": ("成员订单 {orders} 在活动结束前未付清", "member orders {orders} not paid in full by the period end"),
    "spread-out": ("各订单相隔 {days} 天,超过一次性团购允许的 {limit} 天",
                   "its orders lie {days} days apart, more than the {limit} days a one-time purchase allows"),
    "not-positive": ("团购金额不为正", "the group amount is not positive"),
}

# Why a campaign file's value is refused: the schema's own codes and the validation library's
# error types (``err["type"]``), each in both languages; its English text is never shown.
WHY.update({
    "not-a-rate": ("“{value}”不是比例:请写成 2% 或 0.02", "{value} is not a rate (write 2% or 0.02)"),
    "rate-out-of-range": ("“{value}”不是 0% 到 100% 之间的比例(如 20% 请写 20%,而不是 20)",
                          "{value} is not a rate between 0% and 100% (write 20% for twenty percent)"),
    "not-an-amount": ("“{value}”不是金额", "{value} is not an amount"),
    "negative": ("“{value}”不能是负数", "{value} must not be negative"),
    "period-reversed": ("活动开始日 {start} 晚于结束日 {end}", "period.start {start} is after period.end {end}"),
    "tiers-empty": ("至少需要一个档位", "at least one tier is needed"),
    "levels-empty": ("至少需要一个等级", "at least one level is needed"),
    "tiers-first-zero": ("第一档必须从 0 开始(from: 0)", "the first tier must start at 0 (from: 0)"),
    "levels-first-zero": ("第一个等级必须从 0 开始(from: 0)", "the first level must start at 0 (from: 0)"),
    "tiers-ascend": ("档位必须从低到高排列:{upper} 排在 {lower} 之后", "tiers must ascend: {upper} follows {lower}"),
    "levels-ascend": ("等级必须从低到高排列:{upper} 排在 {lower} 之后", "levels must ascend: {upper} follows {lower}"),
    "quantity-marginal": ("按数量(basis: quantity)计算时只能用整额(mode: whole):按数量分段没有对应的金额可乘比例",
                          "basis: quantity works only with mode: whole (a marginal slice of a quantity has no "
                          "amount to apply a rate to)"),
    "tier-decimals": ("金额档位最多两位小数,而不是 {value}", "a tier's from is an amount: at most two decimals, not {value}"),
    "applies-to-deposits": ("适用范围(applies_to)只用于采购行,预存政策不能使用", "applies_to limits purchase rows; a deposit policy has none"),
    "tiers-by-without-rates-by": ("写了 tiers_by(按产品的费率表)就要写 rates_by: product 或 category",
                                  "tiers_by needs rates_by: product or category"),
    "policy-id-twice": ("政策编号 {id} 用了两次", "policy id {id} is used twice"),
    "literal_error": ("“{value}”不是可用的取值,可用:{choices}", "'{value}' is not one of: {choices}"),
    "union_tag_invalid": ("没有 “{tag}” 这种政策类型,可用:{choices}", "there is no policy type '{tag}'; the types are: {choices}"),
    "union_tag_close": ("没有 “{tag}” 这种政策类型,是不是 {close}?可用:{choices}",
                        "there is no policy type '{tag}'; did you mean {close}? The types are: {choices}"),
    "union_tag_not_found": ("缺少政策类型(type)", "the policy type (type) is missing"),
    "greater_than_equal": ("不能小于 {ge}", "must be at least {ge}"),
    "greater_than": ("必须大于 {gt}", "must be more than {gt}"),
    "less_than_equal": ("不能大于 {le}", "must be at most {le}"),
    "int_parsing": ("“{value}”不是整数", "'{value}' is not a whole number"),
    "int_type": ("“{value}”不是整数", "'{value}' is not a whole number"),
    "int_from_float": ("“{value}”不是整数", "'{value}' is not a whole number"),
    "bool_parsing": ("“{value}”不是“是/否”(请写 true 或 false)", "'{value}' is not yes or no (write true or false)"),
    "bool_type": ("“{value}”不是“是/否”(请写 true 或 false)", "'{value}' is not yes or no (write true or false)"),
    "list_type": ("这里应是一个列表(每项一行,以 - 开头,或写成 [a, b])",
                  "a list is needed here (one item per line starting with -, or [a, b])"),
    "dict_type": ("这里应是“键: 值”的结构", "a mapping of keys is needed here"),
    "model_type": ("这里应是“键: 值”的结构", "a mapping of keys is needed here"),
    "model_attributes_type": ("这里应是“键: 值”的结构", "a mapping of keys is needed here"),
    "string_type": ("这里应是文字", "text is needed here"),
    "string_too_short": ("不能为空", "must not be empty"),
    "too_short": ("不能为空", "must not be empty"),
    "date_type": ("“{value}”不是日期(请写成 2026-07-01)", "'{value}' is not a date (write 2026-07-01)"),
    "date_parsing": ("“{value}”不是日期(请写成 2026-07-01)", "'{value}' is not a date (write 2026-07-01)"),
    "date_from_datetime_parsing": ("“{value}”不是存在的日期(请写成 2026-07-01)",
                                   "'{value}' is not a date that exists (write 2026-07-01)"),
    "date_from_datetime_inexact": ("“{value}”不是日期(请写成 2026-07-01)", "'{value}' is not a date (write 2026-07-01)"),
    "decimal_parsing": ("“{value}”不是数字", "'{value}' is not a number"),
    "invalid": ("“{value}”不符合要求", "'{value}' is not valid here"),
    # files
    "binary": ("是二进制数据", "binary data"),
    "encoding": ("文字编码无法识别:不是 UTF-8、UTF-16、GB18030/GBK 或 Big5", "the text is not UTF-8, UTF-16, GB18030/GBK or Big5"),
    "EACCES": ("没有访问权限", "permission denied"), "EPERM": ("没有访问权限", "permission denied"),
    "ENOSPC": ("磁盘已满", "the disk is full"), "EDQUOT": ("磁盘配额已用完", "the disk quota is used up"),
    "EISDIR": ("这是一个文件夹,不是文件", "it is a folder, not a file"),
    "ENOTDIR": ("路径中有一部分不是文件夹", "part of the path is not a folder"),
    "ENOENT": ("不存在", "it does not exist"), "EROFS": ("所在磁盘只读", "the disk is read-only"),
    "EBUSY": ("文件正被占用", "the file is busy"), "ENAMETOOLONG": ("路径太长", "the path is too long"),
    # why a cell was not understood (the readers' reasons)
    "a yes/no value, not an id": ("这是“是/否”,不是编号", "a yes/no value, not an id"),
    "a date, not an id": ("这是日期,不是编号", "a date, not an id"),
    "only invisible characters": ("只有看不见的字符", "only invisible characters"),
    "a yes/no value, not a number": ("这是“是/否”,不是数字", "a yes/no value, not a number"),
    "not a finite number": ("不是有限的数字", "not a finite number"),
    "not a number": ("不是数字", "not a number"), "not a date": ("不是日期", "not a date"),
    "no such day": ("没有这一天", "no such day"), "empty": ("是空的", "empty"),
    "not a known kind": ("不是可识别的类型(预存、消费、转移)", "not a known kind (deposit, consume, transfer)"),
    "not a known channel": ("不是可识别的渠道(经销商、代理商、零售商、终端客户)",
                            "not a known channel (dealer, agent, retailer, end customer)"),
    "not a known payout method (银行转账, 支票, 电子钱包, 账扣, 货补)": (
        "不是可识别的发放方式(银行转账、支票、电子钱包、账扣、货补)",
        "not a known payout method (银行转账, 支票, 电子钱包, 账扣, 货补)"),
    "not a known yes/no value": ("不是“是/否”", "not a yes/no value"),
    "no-reference-column": ("没有“付款参考号”(reference)列", "there is no 'reference' (付款参考号) column"),
    "os-other": ("系统错误 {code}", "system error {code}: {text}"),
})


def os_reason(exc: OSError) -> tuple[str, tuple]:
    """Why the system refused a file, as a phrase in the user's language (see :data:`WHY`)."""
    name = errno.errorcode.get(exc.errno or 0, "")
    if name in WHY:
        return name, ()
    return "os-other", (("code", name or str(exc.errno)), ("text", exc.strerror or str(exc)))

NOTES: dict[str, tuple[str, str]] = {
    "tier-slice": ("第 {tier} 档 {lower} 至 {upper}:{base} × {rate}",
                   "tier {tier} {lower} to {upper}: {base} × {rate}"),
    "quantity-slice": ("第 {tier} 档 {lower} 至 {upper} 件:这些件的金额 {base} × {rate}",
                       "tier {tier} units {lower} to {upper}: their money {base} × {rate}"),
    "whole": ("{measure} {reached} 达到第 {tier} 档(≥ {lower}),整额 {base} × {rate}",
              "{measure} {reached} reaches tier {tier} (≥ {lower}); whole amount {base} × {rate}"),
    "on-time": ("{due} 前付清(含宽限 {grace} 天),付清日 {paid_on}",
                "paid in full on {paid_on}, due {due} (+{grace} grace days)"),
    "late": ("逾期:截止 {due}(含宽限 {grace} 天),{paid_on} 才付清", "late: due {due} (+{grace} grace days), paid in full only on {paid_on}"),
    "partial": ("截止 {due}(含宽限 {grace} 天)前只付了 {paid}", "only {paid} paid by {due} (+{grace} grace days)"),
    "on-time-deducted": ("{due} 前(含宽限 {grace} 天)付了 {paid},余额以返利抵扣(票扣)",
                         "paid {paid} by {due} (+{grace} grace days), the rest deducted as the rebate"),
    "budget-cap": ("活动返利上限 {cap}({rule}):本项由 {before} 调为 {after}", "campaign rebate cap {cap} ({rule}): {before} brought to {after}"),
    "cap": ("本政策每位客户最多 {cap}:按规则应得 {total},超出部分不计", "capped at {cap} a customer: {total} earned, the rest not paid"),
    "taken-at-payment": ("付款时已以票扣方式扣除 {taken},不再支付", "{taken} already deducted at payment: not payable again"),
    "not-yet-due": ("未到截止日 {due},尚未付清(已付 {paid})", "not yet due ({due}) and not yet paid in full ({paid} so far)"),
    "no-due-date": ("没有付款截止日期", "no due date"),
    "scope-customer": ("按客户计:该客户有订单未按时付清,本单不返利",
                       "customer scope: another order of this customer was not paid on time"),
    "group-share": ("团购 {group} 合计 {group_amount}({measure} {group_basis})× {rate} = {group_rebate};"
                    "本客户金额 {share_base} 按比例分摊",
                    "group {group} total {group_amount} ({measure} {group_basis}) × {rate} = {group_rebate}; "
                    "share of {share_base} by proportion"),
}


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _fmt(template: str, params: dict[str, Any]) -> str:
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template + " " + ", ".join(f"{k}={v}" for k, v in params.items())


def message(f: Finding, lang: Lang = "zh") -> str:
    """Return the finding's message in ``lang``."""
    params = {"file": f.file, "sheet": f.sheet, "row": f.row, "column": f.column, "value": f.value,
              **dict(f.params)}
    if lang == "zh" and params.get("delimiter") in DELIMITER_NAMES:
        params["delimiter"] = DELIMITER_NAMES[params["delimiter"]]
    if "role" in params:
        params["role_name"] = role_name(params["role"], lang)
    params["column"] = column_name(params.get("column"), lang)
    for key, value in list(params.items()):     # a phrase given as (code, params), in the run's language
        if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
            params[key] = _fmt(_pick(WHY[value[0]], lang), dict(value[1])) if value[0] in WHY \
                else label(value[0], lang)
    template = CATALOG.get(f.code)
    if template is None:
        return _fmt("{code}", {"code": f.code, **params})
    return _fmt(_pick(template, lang), params)


def notes(codes, params: dict[str, object], lang: Lang = "zh") -> pa.Array:
    """The notes of many lines at once: ``codes`` are note codes (keys of NOTES), ``params[name]``
    holds each line's text for ``{name}`` (any array of text). Each template is filled
    column-wise by Arrow's string kernels."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    from pyarrow import compute as pc
    kinds, known = pd.factorize(pd.Series(codes))
    columns: dict[str, pa.Array] = {}
    parts, positions = [], []
    for k, code in enumerate(known):
        if code not in NOTES:
            continue
        where = np.flatnonzero(kinds == k)
        pieces: list = []
        for literal, field, _spec, _conversion in string.Formatter().parse(_pick(NOTES[code], lang)):
            if literal:
                pieces.append(literal)
            if field and field in params:
                if field not in columns:
                    columns[field] = _param_texts(field, params[field], lang)
                pieces.append(columns[field].take(where))
        if any(isinstance(p, pa.Array) for p in pieces):
            parts.append(pc.binary_join_element_wise(*pieces, "", null_handling="replace", null_replacement=""))
        else:
            parts.append(pa.array(["".join(pieces)] * len(where), type=pa.string()))
        positions.append(where)
    out = pa.nulls(len(codes), type=pa.string())
    if not parts:
        return out
    where = np.concatenate(positions)
    order = np.full(len(codes), len(where), dtype=np.int64)     # lines without a note: the null
    order[where] = np.arange(len(where))
    return pa.concat_arrays(parts + [pa.nulls(1, type=pa.string())]).take(pa.array(order))


def _param_texts(field: str, values, lang: Lang) -> pa.Array:
    """One note parameter as one Arrow text array; the measure of a tier (``quantity`` or
    ``amount``) in the note's language."""
    import pyarrow as pa
    from promo_cli.lines import texts_of_distinct
    if field == "measure" and lang == "zh":
        return texts_of_distinct(values, lambda measure: label(measure, lang))
    array = pa.array(values, type=pa.string(), from_pandas=True)
    return array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array


def role_name(role: str, lang: Lang) -> str:
    """A ledger's role as the user calls it: 采购, 付款, 预存流水 … in zh."""
    return ROLE_NAMES.get(role, role) if lang == "zh" else role


def column_name(column: str | None, lang: Lang) -> str | None:
    """A ledger column as the user calls it: in zh the Chinese header of a canonical name
    (``amount`` → 金额); a header taken from the file stays as the file writes it."""
    return COLUMN_ZH.get(column, column) if lang == "zh" else column


def location(f: Finding, lang: Lang = "zh") -> str:
    """Return where a finding points, as a clerk reads it: ``purchases.xlsx[销售台账]!E17``."""
    if not f.file:
        return ""
    text = f.file
    if f.sheet:
        text += f"[{f.sheet}]"
    if f.cell:
        text += f"!{f.cell}"
    elif f.row is not None:
        text += f":{f.row}"
    if f.column:
        text += f" ({column_name(f.column, lang)})"
    return text


def render(f: Finding, lang: Lang = "zh") -> str:
    """Return one line: ``file[sheet]!E17 (column): [code] message``."""
    where = location(f, lang)
    return f"{where}: [{f.code}] {message(f, lang)}" if where else f"[{f.code}] {message(f, lang)}"

"""Campaign file: safe YAML → validated :class:`~promo_cli.model.Campaign`, or findings.

Every problem names the key path (``policies[0].tiers[1].rate``) and the line. Floats
are never built: the loader leaves ``0.005`` as the text ``"0.005"`` so that rates and
amounts become exact Decimals.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from promo_cli.messages import os_reason
from promo_cli.messages import WHY
from promo_cli.model import PLAUSIBLE_RATE, Campaign, Finding, ParquetInput, SqlInput, finding
from promo_cli.money import format_rate, parse_rate


class _Loader(yaml.SafeLoader):
    """SafeLoader without the implicit float and timestamp types: numbers with a point stay
    text, and so do dates (the schema reads them, and names a day that does not exist)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

Path_ = tuple[str | int, ...]


def load_campaign(path: Path) -> tuple[Campaign | None, str, list[Finding]]:
    """Read and validate a campaign file.

    Returns ``(campaign or None, sha256 of the file, findings)``; the campaign is None
    whenever a finding is blocking.
    """
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, "", [finding("error", "campaign-not-found", file=name, blocking=True)]
    except OSError as exc:
        return None, "", [finding("error", "file-unreadable", file=name, blocking=True,
                                  reason=os_reason(exc))]
    sha = hashlib.sha256(raw).hexdigest()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            return None, sha, [finding("error", "campaign-encoding", file=name, blocking=True)]

    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        return None, sha, [finding("error", "campaign-yaml", file=name, blocking=True,
                                   row=mark.line + 1 if mark else None,
                                   detail=getattr(exc, "problem", None) or str(exc))]
    if root is None:
        return None, sha, [finding("error", "campaign-empty", file=name, blocking=True)]

    lines: dict[Path_, int] = {}
    findings = _index_nodes(root, (), lines, name)
    if findings:
        return None, sha, findings
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as exc:  # e.g. a !!python tag the safe loader refuses
        mark = getattr(exc, "problem_mark", None)
        return None, sha, [finding("error", "campaign-yaml", file=name, blocking=True,
                                   row=mark.line + 1 if mark else None,
                                   detail=getattr(exc, "problem", None) or str(exc))]
    if not isinstance(data, dict):
        return None, sha, [finding("error", "campaign-invalid", file=name, row=1, blocking=True,
                                   key="(top)", reason=("dict_type", ()))]
    try:
        campaign = Campaign.model_validate(data)
    except ValidationError as exc:
        return None, sha, [_from_pydantic(err, data, lines, name) for err in exc.errors()]
    return campaign, sha, implausible_rates(data, lines, name)


def implausible_rates(data: dict, lines: dict[Path_, int], name: str) -> list[Finding]:
    """A warning for every rebate or bonus rate above 20%, with how it was written and how to
    write the other reading: ``rate: 0.5`` is settled as 50%, and may have meant 0.5%."""
    findings = []
    for i, policy in enumerate(data.get("policies") or []):
        if not isinstance(policy, dict) or policy.get("type") not in ("tiered", "on_time_payment", "group_purchase",
                                                                      "prepaid_deposit"):
            continue
        places = [((i, "rate"), policy.get("rate"))]
        places += [((i, "tiers", j, key), tier.get(key)) for j, tier in enumerate(policy.get("tiers") or [])
                   if isinstance(tier, dict) for key in ("rate", "bonus_rate")]
        tables = policy.get("tiers_by") if isinstance(policy.get("tiers_by"), dict) else {}
        places += [((i, "tiers_by", name, j, "rate"), tier.get("rate")) for name, table in tables.items()
                   if isinstance(table, list) for j, tier in enumerate(table) if isinstance(tier, dict)]
        for where, written in places:
            if written is None:
                continue
            rate = parse_rate(written)
            if rate > PLAUSIBLE_RATE:
                text = str(written).strip()
                meant = f"{rate.normalize():f}%"           # the number read as a percent: 0.5 → 0.5%
                path = ("policies",) + where
                findings.append(finding("warning", "rate-implausible", file=name, row=lines.get(path),
                                        key=_render(path), value=text, rate=format_rate(rate), meant=meant,
                                        policy=policy.get("id", "")))
    return findings


def _index_nodes(node: yaml.Node, path: Path_, lines: dict[Path_, int], name: str) -> list[Finding]:
    """Record the line of every key path and report duplicate keys."""
    lines[path] = node.start_mark.line + 1
    problems: list[Finding] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(finding("error", "campaign-duplicate-key", file=name, row=line,
                                        blocking=True, key=_render(path + (key,)),
                                        first=seen[key]))
                continue
            seen[key] = line
            problems += _index_nodes(value_node, path + (key,), lines, name)
            lines[path + (key,)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            problems += _index_nodes(item, path + (index,), lines, name)
    return problems


def _from_pydantic(err: dict[str, Any], data: Any, lines: dict[Path_, int], name: str) -> Finding:
    """Turn one pydantic error into a finding with the real key path and its line."""
    path: list[str | int] = []
    current = data
    loc = list(err["loc"])
    for index, part in enumerate(loc):
        if isinstance(current, dict) and part in current:
            current = current[part]
            path.append(part)
        elif isinstance(current, list) and isinstance(part, int) and part < len(current):
            current = current[part]
            path.append(part)
        elif index == len(loc) - 1 and err["type"] in ("missing", "extra_forbidden"):
            path.append(part)  # the key that is missing or unknown
        # else: a discriminator tag or a union branch name, not a key in the file
    if err["type"] == "union_tag_invalid" and isinstance(current, dict) and "type" in current:
        path.append("type")
    key_path = tuple(path)
    line = lines.get(key_path)
    probe = key_path
    while line is None and probe:
        probe = probe[:-1]
        line = lines.get(probe)
    if err["type"] == "missing":
        reason_code = "missing"
    elif err["type"] == "extra_forbidden":
        reason_code = "unknown"
    else:
        reason_code = "invalid"
    return finding("error", f"campaign-{reason_code}-key" if reason_code != "invalid" else "campaign-invalid",
                   file=name, row=line, blocking=True, key=_render(key_path) or "(top)",
                   reason=_reason(err), value=_scalar(err.get("input")) if reason_code == "invalid" else None)


def _reason(err: dict[str, Any]) -> tuple[str, tuple]:
    """Why a value is refused, as (reason code, params) that the messages put in the user's
    language: the campaign schema's own codes, or the validation library's error type, never its
    English text."""
    ctx = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, (str, int, float, Decimal))}
    kind = err["type"]
    if kind == "literal_error":
        ctx["choices"] = " / ".join(re.findall(r"'([^']*)'", str(ctx.get("expected", ""))))
    elif kind == "union_tag_invalid":
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        ctx["choices"] = " / ".join(choices)
        close = difflib.get_close_matches(str(ctx.get("tag", "")), choices, n=1)
        kind = "union_tag_close" if close else kind
        ctx["close"] = close[0] if close else ""
    value = err.get("input")
    ctx.setdefault("value", value if isinstance(value, (str, int)) else "")
    return kind if kind in WHY else "invalid", tuple(sorted((k, str(v)) for k, v in ctx.items()))


def _scalar(value: Any) -> Any:
    return None if isinstance(value, (dict, list)) else value


def _render(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def resolve_input(campaign_path: Path, value):
    """Return an ``inputs:`` path relative to the campaign file (None if unset); a Parquet input
    with its path resolved the same way; a SQL input as it is (its SQLite file is found
    relative to the campaign file when it is read)."""
    if not value:
        return None
    if isinstance(value, ParquetInput):
        return value.model_copy(update={"parquet": str(resolve_input(campaign_path, value.parquet))})
    if isinstance(value, SqlInput):
        return value
    path = Path(value).expanduser()
    return path if path.is_absolute() else campaign_path.parent / path

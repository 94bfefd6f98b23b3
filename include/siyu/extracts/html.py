"""The self-contained HTML report and the short e-mail body of an extract.

The report must open offline and from a mail attachment, and read on a 390-px-wide phone
(WeCom opens links in its phone browser: cards and charts take the screen's width, charts
scale, wide tables scroll sideways inside their box). CSS is inline in the page and the
charts are hand-drawn inline SVG (a polyline per series, the target as a dashed line, the
day's point in its status colour), so there is no script, font or image to fetch. The e-mail
body uses inline ``style`` attributes only, since mail clients drop ``<style>``.

The markup is in Jinja2 templates (``templates/``: the page, a table, the e-mail body) with
autoescaping on; this module prepares what they show (formatted values, labels in the
report's language) and draws the SVG charts.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from html import escape

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from .definitions import DEFINITIONS
from .formats import STATUS_COLOURS, display, resolve
from .i18n import t
from .tables import Table, period_text

CSS = """
body{font-family:"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;margin:24px;
 color:#222;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;color:#1F4E79}
.note{color:#666;font-size:12px;margin:2px 0}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{border:1px solid #ddd;border-radius:6px;padding:10px 12px;width:260px}
.card .label{font-size:13px;color:#444}.card .value{font-size:24px;font-weight:bold;margin:4px 0}
.period{font-size:12px;color:#666;margin:-4px 0 8px}
.card .asof{font-size:12px;color:#8a6d00;margin:0 0 4px}
.card .def,.chart .def{font-size:11px;color:#666;margin-top:6px}
.pill{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:bold}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{border:1px solid #eee;border-radius:6px;padding:8px;width:400px;margin:0}
.chart .label{font-size:13px;font-weight:bold}
table{border-collapse:collapse;font-size:12px;margin:4px 0}
th{background:#1F4E79;color:#fff;padding:4px 8px;text-align:left}
td{border-bottom:1px solid #eee;padding:3px 8px}td.num{text-align:right}
.foot{font-size:11px;color:#666;margin:4px 0 0}
details{font-size:12px;margin:6px 0}dl{font-size:12px}dt{font-weight:bold;margin-top:6px}dd{margin-left:16px}
.card .change{font-size:12px;color:#333;margin:0 0 4px}
h1,h2,p,dd,dt,.card,.chart{overflow-wrap:anywhere}
.card,.chart{max-width:100%;box-sizing:border-box}
.chart-svg{max-width:100%;height:auto}
.scroll{overflow-x:auto;max-width:100%;-webkit-overflow-scrolling:touch}
@media (max-width:600px){body{margin:12px}h1{font-size:18px}.card{width:100%}
 .chart{width:100%}.cards,.charts{gap:8px}}
"""
W, H, PAD_L, PAD_R, PAD_T, PAD_B = 400, 170, 64, 12, 12, 26


def _float(value) -> float | None:
    return float(value) if isinstance(value, (int, float, Decimal)) else None


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=PackageLoader("siyu.extracts", "templates"), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=False)


def _render(name: str, language: str, **context) -> Markup:
    return Markup(_templates().get_template(name).render(
        t=lambda key: t(key, language), **context))


def _pill(status: str | None, language: str) -> Markup:
    if status is None:
        return Markup(escape(t("empty_value", language)))
    fill, font = STATUS_COLOURS.get(status, STATUS_COLOURS["no_target"])
    return Markup(f'<span class="pill status-{escape(status)}" style="background:{fill};'
                  f'color:{font}">{escape(t(status, language))}</span>')


def svg_chart(days: list[date], values: list, fmt: str, target: float | None,
              status: str | None, language: str) -> str:
    """A small line chart; gaps (NULL days) break the line rather than drop to zero."""
    points = [(i, _float(v)) for i, v in enumerate(values)]
    known = [v for _, v in points if v is not None]
    if not known:
        return (f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
                f'class="chart-svg">'
                f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle" fill="#999" '
                f'font-size="12">{escape(t("no_rows", language))}</text></svg>')
    lo, hi = min(known + ([target] if target is not None else [])), max(
        known + ([target] if target is not None else []))
    if hi == lo:
        lo, hi = lo - (abs(lo) * 0.1 or 1), hi + (abs(hi) * 0.1 or 1)
    span = max(len(days) - 1, 1)

    def x(i: int) -> float:
        return PAD_L + (W - PAD_L - PAD_R) * i / span

    def y(v: float) -> float:
        return PAD_T + (H - PAD_T - PAD_B) * (hi - v) / (hi - lo)

    parts = [f'<svg width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" '
             f'class="chart-svg" font-size="10">',
             f'<line x1="{PAD_L}" y1="{H - PAD_B}" x2="{W - PAD_R}" y2="{H - PAD_B}" '
             f'stroke="#bbb"/>',
             f'<text x="{PAD_L - 4}" y="{y(hi) + 4:.1f}" text-anchor="end" fill="#555">'
             f"{escape(display(hi, fmt, language))}</text>",
             f'<text x="{PAD_L - 4}" y="{y(lo) + 4:.1f}" text-anchor="end" fill="#555">'
             f"{escape(display(lo, fmt, language))}</text>",
             f'<text x="{PAD_L}" y="{H - 8}" fill="#555">{days[0].isoformat()}</text>',
             f'<text x="{W - PAD_R}" y="{H - 8}" text-anchor="end" fill="#555">'
             f"{days[-1].isoformat()}</text>"]
    if target is not None:
        parts.append(f'<line class="target" x1="{PAD_L}" y1="{y(target):.1f}" x2="{W - PAD_R}" '
                     f'y2="{y(target):.1f}" stroke="#888" stroke-dasharray="4 3"/>'
                     f'<text x="{W - PAD_R}" y="{y(target) - 3:.1f}" text-anchor="end" '
                     f'fill="#666">{escape(t("target_line", language))} '
                     f"{escape(display(target, fmt, language))}</text>")
    segment: list[str] = []
    for i, v in points + [(len(points), None)]:
        if v is None:
            if len(segment) > 1:
                parts.append(f'<polyline fill="none" stroke="#1F77B4" stroke-width="2" '
                             f'points="{" ".join(segment)}"/>')
            segment = []
        else:
            segment.append(f"{x(i):.1f},{y(v):.1f}")
    for i, v in points:
        if v is not None:
            last = i == len(points) - 1
            colour = STATUS_COLOURS[status][1] if last and status in STATUS_COLOURS else "#1F77B4"
            parts.append(f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{4 if last else 2}" '
                         f'fill="{colour}"><title>{days[i].isoformat()}: '
                         f"{escape(display(v, fmt, language))}</title></circle>")
    parts.append("</svg>")
    return "".join(parts)


def _definition_note(definition, language: str) -> str:
    """The KPI's definition and its KPI book section under a chart or a card."""
    if definition is None:
        return Markup("")
    return Markup(f'<div class="def">{escape(definition.text(language))} '
                  f"({escape(definition.section)})</div>")


def _charts(table: Table, targets: dict[str, tuple], language: str) -> str:
    days = [row[0] for row in table.rows]
    out = ['<div class="charts">']
    for i, column in enumerate(table.columns[1:], start=1):
        target, status = targets.get(column.name, (None, None))
        definition = DEFINITIONS.get(column.definition or column.name)
        out.append(
            f'<figure class="chart" title="{escape(definition.text(language)) if definition else ""}">'
            f'<div class="label">{escape(t(column.name, language))} '
            f'{_pill(status, language) if status else ""}'
            f"</div>{svg_chart(days, [r[i] for r in table.rows], column.fmt, target, status, language)}"
            + str(_definition_note(definition, language)) + "</figure>")
    out.append("</div>")
    return Markup("".join(out))


def headline_note(row: tuple, day, language: str) -> str:
    """What a headline value refers to: the day of the value when it is not the report's day
    (``数据日期 2025-06-26``), or why there is no value (``尚无成熟的同期群，首个数值 2025-08-29``)."""
    _kpi, value, _target, _status, _unit, value_date, reason, first_on = row
    if value is None:
        text = t(reason, language) if reason else t("no_events", language)
        if first_on is not None:
            text += f"{'，' if language == 'zh' else ', '}{t('first_on', language)} {first_on}"
        return text
    if value_date is not None and value_date != day:
        return f"{t('value_of_day', language)} {value_date}"
    return ""


def _cards(headline: Table, language: str) -> list[dict]:
    cards = []
    for row in headline.rows:
        kpi, value, target, status, unit = row[:5]
        fmt = resolve("by_unit", unit)
        definition = DEFINITIONS.get(kpi)
        cards.append({
            "definition": definition.text(language) if definition else "",
            "label": t(kpi, language),
            "value": display(value, fmt, language),
            "note": headline_note(row, headline.day, language),
            "target": display(target, fmt, language),
            "pill": _pill(status, language),
            "definition_note": _definition_note(definition, language),
        })
    return cards


def _table(table: Table, language: str) -> Markup:
    names = [c.name for c in table.columns]
    unit_at = names.index("unit") if "unit" in names else None
    head = [{"label": t(c.name, language),
             "definition": DEFINITIONS[c.definition].text(language) if c.definition else ""}
            for c in table.columns]
    rows = []
    for row in table.rows:
        unit = row[unit_at] if unit_at is not None else None
        cells = []
        for column, value in zip(table.columns, row, strict=True):
            if column.fmt == "status":
                cells.append({"value": _pill(value, language), "numeric": False})
            else:
                cells.append({"value": display(value, resolve(column.fmt, unit), language),
                              "numeric": _float(value) is not None})
        rows.append(cells)
    keys = [c.definition for c in table.columns if c.definition] + list(table.spec.kpis)
    foot = [{"label": t(k, language), "text": DEFINITIONS[k].text(language),
             "section": DEFINITIONS[k].section} for k in dict.fromkeys(keys)]
    return _render("table.html.j2", language, head=head, rows=rows, foot=foot)


def write_report(path, tables: list[Table], targets: dict[str, dict[str, tuple]],
                 department: str, definitions: list[str], title: str, language: str,
                 cards: list[dict] | None = None) -> None:
    """The report page; ``targets`` are (target, status) per department and KPI of the day.
    ``cards``: the headline cards when not the daily headline's (the period reports)."""
    headline, *rest = tables

    def period(table: Table) -> str:
        return period_text(table.spec.period, table.day, language) if table.day else ""

    sections = []
    for table in rest:
        charts = None
        if table.spec.chart and table.rows:  # the charts, and their numbers folded below
            of = "all" if table.spec.company_wide else department
            charts = _charts(table, targets.get(of, {}), language)
        sections.append({"name": table.name, "title": t(table.name, language),
                         "period": period(table), "charts": charts,
                         "table": _table(table, language)})
    page = _render(
        "report.html.j2", language, lang="zh-CN" if language == "zh" else "en", title=title,
        css=CSS, headline={"period": period(headline),
                  "cards": _cards(headline, language) if cards is None else cards},
        sections=sections,
        definitions=[{"label": t(k, language), "text": DEFINITIONS[k].text(language),
                      "section": DEFINITIONS[k].section} for k in definitions])
    path.write_text(page, encoding="utf-8")


def email_body(headline: Table, title: str, language: str) -> str:
    """Headline KPIs with target and status colour; inline styles only."""
    rows = []
    for row in headline.rows:
        kpi, value, target, status, unit = row[:5]
        fmt = resolve("by_unit", unit)
        fill, font = STATUS_COLOURS.get(status or "", ("#FFFFFF", "#666666"))
        note = headline_note(row, headline.day, language)
        rows.append({
            "label": t(kpi, language),
            "value": display(value, fmt, language) + (f" ({note})" if note else ""),
            "target": display(target, fmt, language),
            "fill": fill, "font": font,
            "status": t(status, language) if status else t("empty_value", language),
        })
    return str(_render("email.html.j2", language, title=title, rows=rows))

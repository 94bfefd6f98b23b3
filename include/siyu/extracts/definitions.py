"""One short definition per KPI shown in the extracts, in Chinese and English, citing the KPI book.

Readers of a department report must see what a number means without opening the docs; the
text condenses the KPI book, docs/kpi-book.md (the section is given in ``section`` and shown
next to the definition). KPIs that are not marts (lead quality, conversion, buyer LTV trend)
are defined here and computed in ``siyu.extracts.tables``: this module is their
specification (the KPI book's "Measures of the extracts" describes them). The department KPIs
of kpi_department_daily are defined once, in the KPI catalog (``siyu.kpi_catalog``).
"""

from __future__ import annotations

from dataclasses import dataclass

from siyu import kpi_catalog


@dataclass(frozen=True)
class Definition:
    section: str  # where the KPI book (docs/kpi-book.md) defines it, shown in the reports
    zh: str
    en: str

    def text(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


# The department KPIs (kpi_department_daily) are defined in the KPI catalog (siyu.kpi_catalog,
# the seed kpi_catalog.csv: definition_section, definition_zh, definition_en), added below; the
# measures and columns of the extracts that are not department KPIs are defined here.
DEFINITIONS: dict[str, Definition] = {
    "ltv_cac": Definition(
        "KPI book: docs/kpi-book.md#acquisition",
        "LTV/CAC（按渠道）：完整时用365天LTV，否则用最长的完整期限（已标注）；达标线 >= 3。",
        "LTV/CAC per channel: LTV at 365 days where complete, else the longest complete "
        "horizon (labelled); the bar is >= 3.",
    ),
    "lead_quality": Definition(
        "KPI book: docs/kpi-book.md#measures-of-the-extracts",
        "线索质量 = 有CRM联系人、首次出现在当日前90天内且已满30天的用户中，首次出现后30天内完成首单"
        "（合格购买）的比例，按获客渠道。",
        "Lead quality = share of the users with a CRM contact, first seen in the 90 days up to "
        "the day and at least 30 days before its end, whose first qualifying purchase came "
        "within 30 days of first seen; by acquisition channel (buyers without a contact are "
        "not leads).",
    ),
    "conversion": Definition(
        "KPI book: docs/kpi-book.md#measures-of-the-extracts",
        "转化率 = 归属该员工、首次出现在当日前90天内且已满30天的用户中，30天内完成首单的比例。",
        "Conversion = the same 30-day first-purchase share over the users owned by the staff "
        "member, first seen in the 90 days up to the day and matured for 30 days.",
    ),
    "click_rate": Definition(
        "KPI book: docs/kpi-book.md#content-and-community",
        "点击率 = 点击的去重接收人 / 触达的去重接收人。",
        "Click rate = distinct recipients who clicked / distinct recipients reached.",
    ),
    "group_speaking_rate": Definition(
        "KPI book: docs/kpi-book.md#content-and-community",
        "发言率 = 当天在群里至少发言一次的客户 / 当天结束时的群成员客户。",
        "Group speaking rate = customers who sent a group message that day / customers who "
        "were members at the end of that day.",
    ),
    "p_purchase_90d": Definition(
        "KPI book: docs/kpi-book.md#predictive-kpis",
        "90天内再购概率 = 模型预测该买家在当日日末之后90天内至少有一次合格购买的概率；模型按历史留出验证选出"
        "（pred_model_evaluation）。",
        "P(buys in 90 days) = the predicted probability of at least one qualifying purchase in "
        "the 90 days after the end of the day; the model is chosen on held-out history "
        "(pred_model_evaluation).",
    ),
    "expected_net_revenue_90d": Definition(
        "KPI book: docs/kpi-book.md#predictive-kpis",
        "预计90天净收入 = 该买家未来90天合格购买的预计净收入（预测性LTV）。",
        "Expected net revenue (90 days) = the predicted net revenue of the buyer's qualifying "
        "purchases in the next 90 days (predictive LTV).",
    ),
    "value_at_risk_90d": Definition(
        "KPI book: docs/kpi-book.md#predictive-kpis",
        "风险金额 = 近90天净收入 ×（1 - 90天内再购概率）：客户不再购买时失去的收入。",
        "Value at risk = net revenue of the last 90 days x (1 - P(buys in 90 days)): the "
        "revenue lost if the customer does not buy again.",
    ),
    "lifecycle": Definition(
        "KPI book: docs/kpi-book.md#users-and-lifecycle",
        "生命周期阶段按顺序取第一条成立的规则：高价值（近365天>=3次购买）、新用户（近30天首次出现）、"
        "流失风险（近30天未互动且客单价低于均值）、沉默（近30天未互动）、活跃。",
        "Lifecycle stage, first rule that applies: high_value (>= 3 purchases in 365 days), "
        "new (first seen in 30 days), churn_risk (no interaction in 30 days, AOV below the "
        "mean), silent (no interaction in 30 days), active.",
    ),
    "ltv": Definition(
        "KPI book: docs/kpi-book.md#ltv",
        "用户LTV = 截至当日该用户已支付订单的净收入之和；队列LTV为首单月份队列在H天内的人均净收入，"
        "仅在全员满H天时报告。",
        "User LTV = sum of net revenue of the user's paid orders up to the day; cohort LTV is "
        "the average over a first-purchase month of net revenue within H days, reported only "
        "when every user has had H days.",
    ),
    "buyer_ltv": Definition(
        "KPI book: docs/kpi-book.md#measures-of-the-extracts",
        "人均买家LTV（趋势）= 截至每一天的净收入累计 / 截至该日已有首单的用户数。",
        "Average buyer LTV (trend) = cumulative net revenue up to each day / users whose first "
        "qualifying purchase is on or before that day.",
    ),
    "frt_p90_seconds": Definition(
        "KPI book: docs/kpi-book.md#response-rates",
        "首次响应时长90分位（FRT p90）：同上，第90百分位。",
        "First response time 90th percentile (FRT p90), likewise.",
    ),
    "sla_breaches": Definition(
        "KPI book: docs/kpi-book.md#response-rates",
        "SLA超时 = 已满2小时但未在2小时内得到回复的咨询（服务SLA：普通咨询2小时内回复）。",
        "SLA breaches = inquiries matured for 2 hours and not answered within 2 hours (service "
        "SLA: answer ordinary inquiries within 2 hours).",
    ),
    "status": Definition(
        "KPI book: docs/kpi-book.md#health-and-targets",
        "状态：绿 = 达标；黄 = 低于目标不足20%；红 = 低于目标20%及以上。",
        "Status: green = meets target; yellow = below target by less than 20%; red = 20% or "
        "more below target.",
    ),
}

DEFINITIONS.update({
    k.kpi: Definition(f"KPI book: {k.definition_section}", k.definition_zh, k.definition_en)
    for k in kpi_catalog.kpis()
})


def definition(kpi: str, language: str) -> str:
    """The definition text of a KPI in the language (empty for an undefined key)."""
    found = DEFINITIONS.get(kpi)
    return found.text(language) if found else ""

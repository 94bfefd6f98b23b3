"""One short definition per KPI shown in the extracts, in Chinese and English, citing the KPI book.

Readers of a department report must see what a number means without opening the docs; the
text condenses the KPI book, docs/kpi-book.md (the section is given in ``section`` and shown
next to the definition). KPIs that are not marts (lead quality, conversion, buyer LTV trend)
are defined here and computed in ``siyu.extracts.tables``: this module is their
specification (the KPI book's "Measures of the extracts" describes them).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Definition:
    section: str  # where the KPI book (docs/kpi-book.md) defines it, shown in the reports
    zh: str
    en: str

    def text(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


DEFINITIONS: dict[str, Definition] = {
    "new_contacts": Definition(
        "KPI book: docs/kpi-book.md#acquisition",
        "按 created_at 日期与渠道统计的新增联系人数（含之后被删除的）。按部门：获客随花费而非归属，"
        "即当月该部门有投放活动的渠道带来的新增联系人（无论归属谁）；全公司每人只计一次。",
        "New contacts per day and channel, by created_at (deleted later or not). By department, "
        "acquisition follows the spend, not the owner: the contacts of channels the department "
        "ran a campaign on that month, whoever owns them; the company counts each once.",
    ),
    "cac": Definition(
        "KPI book: docs/kpi-book.md#acquisition",
        "获客成本 = 按天分摊到当月的活动花费 / 该渠道当月新增联系人；无新增时为空。"
        "按部门：该部门活动的花费 / 该部门当月获客（见新增联系人），月初至今。",
        "CAC = campaign spend allocated to the month (pro rata by day) / new contacts of that "
        "channel created in the month; NULL when there are none. By department: its campaigns' "
        "spend / its new contacts (see new contacts), month to date.",
    ),
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
    "tag_completeness": Definition(
        "KPI book: docs/kpi-book.md#tags",
        "标签完整率 = 在每个必填标签组（lifecycle、interest、need）都至少有一个当前标签的有效联系人占比；"
        "健康线 >= 80%。",
        "Tag completeness = share of active contacts holding a current tag in every required "
        "group (lifecycle, interest, need); healthy >= 80%.",
    ),
    "tagging_sla_6h": Definition(
        "KPI book: docs/kpi-book.md#tags",
        "6小时标签化 = 当期创建的联系人中，创建后6小时内首次打标签的比例（仅计已满6小时的）。",
        "6-hour tagging SLA = share of contacts created in the period whose first tag add came "
        "within 6 hours of created_at, over contacts matured for 6 hours.",
    ),
    "content_open_rate": Definition(
        "KPI book: docs/kpi-book.md#content-and-community",
        "社群内容打开率 = 打开的去重接收人 / 触达的去重接收人（送达、打开或点击）；健康线 >= 25%。",
        "Content open rate = distinct recipients who opened / distinct recipients reached "
        "(delivered, opened or clicked); healthy >= 25%.",
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
    "one_on_one_effective_rate": Definition(
        "KPI book: docs/kpi-book.md#1v1-effective-communication-rate",
        "1v1有效沟通率 = 客户在外呼开始后48小时内回复的外呼 / 已满48小时的外呼；健康线 >= 40%。",
        "1v1 effective rate = outreaches answered by the customer within 48 hours / outreaches "
        "matured for 48 hours; healthy >= 40%.",
    ),
    "aov": Definition(
        "KPI book: docs/kpi-book.md#orders-and-revenue",
        "客单价 = 净收入 / 合格购买次数（当期）。",
        "AOV = net revenue / qualifying purchases over the period.",
    ),
    "net_revenue": Definition(
        "KPI book: docs/kpi-book.md#orders-and-revenue",
        "净收入 = 已支付金额减去退款，最低为0；按支付日期。",
        "Net revenue = paid amount minus refunds, floored at 0; by day of payment.",
    ),
    "repurchase_rate_90d": Definition(
        "KPI book: docs/kpi-book.md#90-day-repurchase-rate",
        "90天复购率 = 首单后90天内再次合格购买的用户 / 已满90天的用户（按首单月份队列，取最近已成熟的月份）。",
        "90-day repurchase rate = users with another qualifying purchase within 90 days of "
        "the first / users matured for 90 days (latest matured cohort month).",
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
    "response_rate_2h": Definition(
        "KPI book: docs/kpi-book.md#response-rates",
        "2小时响应率 = 2小时内得到回复的咨询 / 已满2小时的咨询（仅单聊；按咨询开始日）。",
        "2-hour response rate = inquiries answered within 2 hours / inquiries matured for 2 "
        "hours (single chats; day the inquiry started).",
    ),
    "response_rate_48h": Definition(
        "KPI book: docs/kpi-book.md#response-rates",
        "48小时响应率 = 48小时内得到回复的咨询 / 已满48小时的咨询。",
        "48-hour response rate = inquiries answered within 48 hours / inquiries matured for "
        "48 hours.",
    ),
    "frt_p50_seconds": Definition(
        "KPI book: docs/kpi-book.md#response-rates",
        "首次响应时长中位数（FRT p50）：当天已回复咨询的首次响应时长，线性插值。",
        "First response time median (FRT p50) over the answered inquiries of the day, linear "
        "interpolation.",
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
    "nps": Definition(
        "KPI book: docs/kpi-book.md#satisfaction",
        "NPS = 推荐者（9-10）% − 贬损者（0-6）%，按月，每位联系人当月最新答复计一次。",
        "NPS = % promoters (9-10) - % detractors (0-6), per month; a contact's latest answer "
        "in the month counts once.",
    ),
    "status": Definition(
        "KPI book: docs/kpi-book.md#health-and-targets",
        "状态：绿 = 达标；黄 = 低于目标不足20%；红 = 低于目标20%及以上。",
        "Status: green = meets target; yellow = below target by less than 20%; red = 20% or "
        "more below target.",
    ),
}


def definition(kpi: str, language: str) -> str:
    """The definition text of a KPI in the language (empty for an undefined key)."""
    found = DEFINITIONS.get(kpi)
    return found.text(language) if found else ""

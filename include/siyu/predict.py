"""Predictive KPIs: each buyer's chance to buy again and expected value over the next 90 days.

The dbt Python models ``pred_model_evaluation`` and ``pred_customer_90d``
(dbt_project/models/marts/predict/) call this module; it takes small per-user tables that SQL
has already aggregated (``fct_user_purchase_days``: one row per buyer and purchase day;
``fct_buyer_features``: one row per buyer) and never touches the warehouse itself.

Models compared (docs/kpi-book.md#predictive-kpis, DECISIONLOG "Predictive KPIs"):

* ``bgnbd_gg``: BG/NBD (Fader, Hardie & Lee 2005) for the number of purchase days, Gamma-Gamma
  (Fader, Hardie & Lee 2005b) for the value of a purchase day, fitted by maximum likelihood
  with scipy (no sampling: a few CPU seconds at 100k users, benchmarks/results.md);
* ``gbm_rfm``: scikit-learn HistGradientBoosting on RFM features (classifier for "buys in the
  horizon", Poisson regressions for purchases and net revenue), trained on the window that
  ends where the prediction starts;
* ``naive_last_90d``: the last 90 days repeated (bought in them -> p = 1, same purchases and
  revenue again); ``lifecycle_rule``: the lifecycle stages' churn rule (no interaction in 30
  days and not high value -> p = 0, else 1; probability only).

Honest evaluation: every model is trained on data up to the *origin* = end of as_of - 90
days and predicts the 90 business days from there to the end of as_of, which the warehouse
has already seen. Purchases count by business day (``purchase_day``), so the windows are
whole days: [origin, end). Everything is deterministic: a fixed seed, no sampling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaincinv, betaln, gammaln

HORIZON_DAYS = 90
SEED = 20250628
MODEL_FAMILY_VERSION = "1"
MODELS = ("bgnbd_gg", "gbm_rfm", "naive_last_90d", "lifecycle_rule")
METRICS = ("auc", "brier", "mae_net_revenue", "total_net_revenue_error")
# the gradient-boosted model needs a training window of its own before the prediction origin:
# at least this many days of label window (shorter than 90 days: rates scaled to 90 days)
MIN_GBM_LABEL_DAYS = 28
DEFAULT_MODEL = "bgnbd_gg"  # scores when nothing could be evaluated (less than 90 days of history)
EVALUATION_COLUMNS = ["model", "metric", "segment", "value", "baseline_value", "users",
                      "is_chosen", "training_window_start", "training_window_end",
                      "evaluation_window_start", "evaluation_window_end"]
SCORE_COLUMNS = ["user_id", "as_of", "source_channel", "department", "p_purchase_90d",
                 "expected_purchases_90d", "expected_net_revenue_90d", "net_revenue_last_90d",
                 "value_at_risk_90d", "model_version"]


# ----------------------------------------------------------------------------- per-user tables
def summarize(purchase_days: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    """Per buyer with a purchase day before ``cutoff`` (exclusive, a date): the RFM summary.

    ``x`` repeat purchase days, ``t_x`` days from the first to the last purchase day, ``T`` days
    from the first purchase day to the cutoff, ``m`` mean net revenue of the repeat purchase
    days (0 when x = 0), and the recent-window counts the baselines and the GBM read."""
    cut = pd.Timestamp(cutoff)
    d = purchase_days[purchase_days["day"] < cut]
    if d.empty:
        return pd.DataFrame(columns=["x", "t_x", "T", "m", "purchases", "revenue", "days_since_last",
                                     "purchases_90d", "revenue_90d", "purchases_30d",
                                     "days_365d", "first_revenue"]).rename_axis("user_id")
    d = d.sort_values(["user_id", "day"])
    g = d.groupby("user_id", sort=True, observed=True)
    first = g["day"].min()
    last = g["day"].max()
    n_days = g["day"].size()
    revenue = g["net_revenue"].sum()
    first_revenue = g["net_revenue"].first()
    recent90 = d[d["day"] >= cut - pd.Timedelta(days=HORIZON_DAYS)].groupby("user_id", observed=True)
    recent30 = d[d["day"] >= cut - pd.Timedelta(days=30)].groupby("user_id", observed=True)
    recent365 = d[d["day"] >= cut - pd.Timedelta(days=365)].groupby("user_id", observed=True)
    out = pd.DataFrame({
        "x": (n_days - 1).astype(float),
        "t_x": (last - first).dt.days.astype(float),
        "T": (cut - first).dt.days.astype(float),
        "purchases": g["purchases"].sum().astype(float),
        "revenue": revenue.astype(float),
        "first_revenue": first_revenue.astype(float),
        "days_since_last": (cut - last).dt.days.astype(float),
    })
    out["m"] = np.where(out["x"] > 0, (out["revenue"] - out["first_revenue"])
                        / out["x"].where(out["x"] > 0, 1.0), 0.0)
    out["purchases_90d"] = recent90["purchases"].sum().reindex(out.index, fill_value=0).astype(float)
    out["revenue_90d"] = recent90["net_revenue"].sum().reindex(out.index, fill_value=0).astype(float)
    out["purchases_30d"] = recent30["purchases"].sum().reindex(out.index, fill_value=0).astype(float)
    out["days_365d"] = recent365["day"].size().reindex(out.index, fill_value=0).astype(float)
    return _plain_index(out)


def _plain_index(frame: pd.DataFrame) -> pd.DataFrame:
    """user_id as a plain index of strings (the input may hold it as a category)."""
    frame.index = pd.Index(frame.index.astype(str), name="user_id")
    return frame


def outcomes(purchase_days: pd.DataFrame, start: date, end: date, index: pd.Index) -> pd.DataFrame:
    """What happened in [start, end) (dates): purchases and net revenue per user of ``index``."""
    d = purchase_days[(purchase_days["day"] >= pd.Timestamp(start))
                      & (purchase_days["day"] < pd.Timestamp(end))]
    g = d.groupby("user_id", observed=True)
    out = _plain_index(pd.DataFrame({"purchases": g["purchases"].sum(),
                                     "revenue": g["net_revenue"].sum()}))
    out = out.reindex(index, fill_value=0).astype(float)
    out["bought"] = (out["purchases"] > 0).astype(float)
    return out


# ----------------------------------------------------------------------------- BG/NBD
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(64)
_GL_U, _GL_W = (_GL_NODES + 1.0) / 2.0, _GL_WEIGHTS / 2.0

@dataclass
class BGNBD:
    r: float
    alpha: float
    a: float
    b: float

    @staticmethod
    def _negll(logp, ux, xi, tx, T, w):
        """Mean negative log-likelihood over the distinct (x, t_x, T) rows (weights w); the
        gamma and beta functions are evaluated once per distinct x (ux, rows' index xi)."""
        r, alpha, a, b = np.exp(logp)
        lg = gammaln(r + ux) - gammaln(r) + r * np.log(alpha)
        b0 = betaln(a, b)
        first_x = betaln(a, b + ux) - b0
        second_x = np.where(ux > 0, betaln(a + 1, b + np.maximum(ux, 1) - 1) - b0, -np.inf)
        k = r + ux[xi]
        first = first_x[xi] - k * np.log(alpha + T)
        second = second_x[xi] - k * np.log(alpha + tx)
        ll = lg[xi] + np.logaddexp(first, second)
        return -np.dot(w, ll) / w.sum()

    @classmethod
    def fit(cls, x, tx, T) -> BGNBD:
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        rows, w = np.unique(np.column_stack([x, tx, T]), axis=0, return_counts=True)
        ux, xi = np.unique(rows[:, 0], return_inverse=True)
        # bounded (0.0025 .. 8,100 each): where customers hardly ever drop out the likelihood
        # keeps rising as b -> infinity (dropout probability -> 0), and a penalty on the
        # parameters (as in `lifetimes`) pulls a and b to a degenerate 0 instead
        res = minimize(cls._negll, x0=np.log([0.5, max(T.mean(), 1.0), 1.0, 3.0]),
                       args=(ux, xi, rows[:, 1], rows[:, 2], w.astype(float)),
                       method="Nelder-Mead", bounds=[(-6, 9)] * 4,
                       options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10})
        r, alpha, a, b = np.exp(res.x)
        return cls(float(r), float(alpha), float(a), float(b))

    def p_alive(self, x, tx, T):
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        with np.errstate(divide="ignore", over="ignore"):
            ratio = np.exp(np.log(a) - np.log(b + np.maximum(x, 1) - 1)
                           + (r + x) * (np.log(alpha + T) - np.log(alpha + tx)))
        return np.where(x > 0, 1.0 / (1.0 + ratio), 1.0)

    def p_purchase(self, t, x, tx, T):
        """P(at least one purchase day in (T, T + t]): alive, and the Poisson gives one.
        BG/NBD customers drop out only right after a purchase, so no purchase in the window
        means dead at T, or alive with a Gamma(r + x, alpha + T) rate that gave none."""
        x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
        none_if_alive = np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + T + t)))
        return self.p_alive(x, tx, T) * (1.0 - none_if_alive)

    def expected_purchases(self, t, x, tx, T):
        """E[purchase days in (T, T + t] | x, t_x, T] = P(alive) x E[(1 - e^(-lambda p t)) / p]
        over the posterior of an alive customer: lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a,
        b + x) (Fader, Hardie & Lee 2005, eq. 7). The lambda part is closed form; the p part is
        a Gauss-Legendre quadrature over the quantiles of p, which, unlike the paper's eq. 10, also holds for a <= 1
        (seen here: customers of the generated data rarely drop out)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, tx, T = (np.asarray(v, dtype=float) for v in (x, tx, T))
        out = np.empty_like(x)
        for xv in np.unique(x):
            sel = x == xv
            # E over p ~ Beta(a, b + x) as an integral over its quantiles (Gauss-Legendre):
            # stays finite where a Jacobi rule's weights overflow (b in the thousands)
            p = betaincinv(a, b + xv, _GL_U)
            w = _GL_W
            base = (alpha + T[sel])[:, None]
            # (1 - (c / (c + p t))^k) / p without cancellation for tiny p; k t / c at p = 0
            pp = np.maximum(p, 1e-300)[None, :]
            g = np.where(p[None, :] > 0, -np.expm1(-(r + xv) * np.log1p(pp * t / base)) / pp,
                         (r + xv) * t / base)
            out[sel] = g @ w
        return self.p_alive(x, tx, T) * out


# ----------------------------------------------------------------------------- Gamma-Gamma
@dataclass
class GammaGamma:
    p: float
    q: float
    v: float

    @staticmethod
    def _negll(logp, x, m):
        p, q, v = np.exp(logp)
        ll = (gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
              + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + m * x))
        return -ll.mean()

    @classmethod
    def fit(cls, x, m) -> GammaGamma:
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        keep = (x > 0) & (m > 0)
        x, m = x[keep], m[keep]
        res = minimize(cls._negll, x0=np.log([2.0, 3.0, max(float(np.mean(m)), 1.0)]),
                       args=(x, m), method="Nelder-Mead", bounds=[(-6, 12)] * 3,
                       options={"maxiter": 4000, "xatol": 1e-7, "fatol": 1e-10})
        p, q, v = np.exp(res.x)
        return cls(float(p), float(q), float(v))

    def expected_value(self, x, m, fallback: float):
        """E[value of a purchase day | x repeat days of mean m]; ``fallback`` (the mean of the
        first purchase days) when the fit has no finite mean (q <= 1) or the buyer no repeat."""
        x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
        if self.q <= 1.0:
            return np.where(x > 0, m, fallback)
        prior = self.p * self.v / (self.q - 1.0)
        post = (self.q - 1.0) / (self.p * x + self.q - 1.0) * prior \
            + self.p * x / (self.p * x + self.q - 1.0) * m
        return np.where(x > 0, post, prior)


# ----------------------------------------------------------------------------- predictions
def predict_bgnbd_gg(history: pd.DataFrame) -> pd.DataFrame:
    """Fit on the summary ``history`` (summarize at the origin) and predict the next 90 days."""
    s = history
    bg = BGNBD.fit(s["x"], s["t_x"], s["T"])
    repeat = s[(s["x"] > 0) & (s["m"] > 0)]
    fallback = float(s["first_revenue"].mean())
    if len(repeat) >= 10:
        gg = GammaGamma.fit(repeat["x"], repeat["m"])
        value = gg.expected_value(s["x"], s["m"], fallback)
    else:
        value = np.full(len(s), fallback)
    p = bg.p_purchase(HORIZON_DAYS, s["x"], s["t_x"], s["T"])
    n = bg.expected_purchases(HORIZON_DAYS, s["x"], s["t_x"], s["T"])
    # purchase days -> purchases: the buyers' mean purchases per purchase day
    per_day = float(s["purchases"].sum() / (s["x"] + 1).sum())
    return pd.DataFrame({"p": np.clip(p, 0, 1), "purchases": n * per_day, "revenue": n * value},
                        index=s.index)


def predict_naive(history: pd.DataFrame) -> pd.DataFrame:
    s = history
    return pd.DataFrame({"p": (s["purchases_90d"] > 0).astype(float),
                         "purchases": s["purchases_90d"], "revenue": s["revenue_90d"]},
                        index=s.index)


def predict_lifecycle(history: pd.DataFrame, buyers: pd.DataFrame, origin: date,
                      column: str) -> pd.DataFrame:
    """The lifecycle stages' rule for churn as a probability: 0 for a buyer with no interaction
    in the 30 days before the origin (churn_risk or silent) unless high value (>= 3 purchase
    days in 365 days); 1 otherwise. No value prediction (revenue NaN)."""
    last = buyers[column].reindex(history.index)
    recent = last >= pd.Timestamp(origin) - pd.Timedelta(days=30)
    high_value = history["days_365d"] >= 3
    p = (recent.fillna(False).astype(bool) | high_value).astype(float)
    return pd.DataFrame({"p": p, "purchases": np.nan, "revenue": np.nan}, index=history.index)


FEATURES = ["x", "t_x", "T", "days_since_last", "purchases", "revenue", "m", "purchases_90d",
            "revenue_90d", "purchases_30d", "days_365d", "channel_code"]


def _features(summary: pd.DataFrame, buyers: pd.DataFrame, channels: list[str]) -> pd.DataFrame:
    f = summary.copy()
    channel = buyers["source_channel"].reindex(f.index).fillna("unknown")
    f["channel_code"] = channel.map({c: i for i, c in enumerate(channels)}).fillna(-1).astype(float)
    return f[FEATURES]


def predict_gbm(purchase_days: pd.DataFrame, buyers: pd.DataFrame, origin: date,
                data_start: date, now: pd.DataFrame) -> pd.DataFrame | None:
    """Gradient boosting on RFM features, trained on its own window before ``origin``: features
    at ``origin - h``, labels in [origin - h, origin) with h = min(90, history / 2) days; with h
    under 90 the label rates are scaled to 90 days (p: as independent h-day windows). None when
    h < MIN_GBM_LABEL_DAYS (too little history before the origin) or under 50 buyers to learn
    from. ``now``: summarize(purchase_days, origin), the features it predicts from."""
    h = min(HORIZON_DAYS, (origin - data_start).days // 2)
    if h < MIN_GBM_LABEL_DAYS:
        return None
    train_origin = origin - timedelta(days=h)
    train = summarize(purchase_days, train_origin)
    if len(train) < 50:
        return None
    # imported only when there is a model to fit (sklearn.ensemble: ~1 s of CPU)
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from threadpoolctl import threadpool_limits

    # one OpenMP thread: on a busy 2-core box more threads made a 1k-buyer fit 20x slower
    # (oversubscription next to DuckDB), and one thread gives the same model every run
    with threadpool_limits(limits=1):
        return _fit_gbm(purchase_days, buyers, origin, h, train, HistGradientBoostingClassifier,
                        HistGradientBoostingRegressor, now)


def _fit_gbm(purchase_days, buyers, origin, h, train, HistGradientBoostingClassifier,
             HistGradientBoostingRegressor, now):
    train_origin = origin - timedelta(days=h)
    y = outcomes(purchase_days, train_origin, origin, train.index)
    channels = sorted(buyers["source_channel"].fillna("unknown").unique())
    X = _features(train, buyers, channels)
    Xn = _features(now, buyers, channels)
    cat = [FEATURES.index("channel_code")]
    params = dict(max_iter=150, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
                  l2_regularization=1.0, random_state=SEED, categorical_features=cat)
    scale = HORIZON_DAYS / h
    if y["bought"].nunique() == 2:
        clf = HistGradientBoostingClassifier(**params).fit(X, y["bought"])
        p_h = clf.predict_proba(Xn)[:, 1]
    else:
        p_h = np.full(len(Xn), float(y["bought"].mean()))
    p = 1.0 - (1.0 - p_h) ** scale
    reg_n = HistGradientBoostingRegressor(loss="poisson", **params).fit(X, y["purchases"])
    reg_r = HistGradientBoostingRegressor(loss="poisson", **params).fit(X, y["revenue"])
    return pd.DataFrame({"p": np.clip(p, 0, 1), "purchases": reg_n.predict(Xn) * scale,
                         "revenue": reg_r.predict(Xn) * scale}, index=now.index)


# ----------------------------------------------------------------------------- evaluation
def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve = the Mann-Whitney U of the probabilities of the buyers against
    the non-buyers / (buyers x non-buyers), ties counted half (average ranks); NaN when the
    window has only buyers or only non-buyers (or a probability is NaN)."""
    pos = y > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0 or np.isnan(p).any():
        return float("nan")
    # average ranks (k tied values share i + (k + 1) / 2, exact in floating point); pandas'
    # rank gives scipy.stats.rankdata's numbers without importing scipy.stats (1.3 s of every
    # build that evaluates the models)
    ranks = pd.Series(p).rank(method="average").to_numpy()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def metrics(pred: pd.DataFrame, actual: pd.DataFrame) -> dict[str, float]:
    y, p = actual["bought"].to_numpy(), pred["p"].to_numpy()
    out = {"auc": _auc(y, p), "brier": float(np.mean((p - y) ** 2))}
    if pred["revenue"].notna().all():
        rev, act = pred["revenue"].to_numpy(), actual["revenue"].to_numpy()
        out["mae_net_revenue"] = float(np.mean(np.abs(rev - act)))
        total = float(act.sum())
        out["total_net_revenue_error"] = (float(rev.sum()) - total) / total if total else float("nan")
    return out


def _prepare(purchase_days: pd.DataFrame) -> pd.DataFrame:
    d = purchase_days.rename(columns={"purchase_day": "day"})[
        ["user_id", "day", "purchases", "net_revenue"]].copy()
    d["day"] = pd.to_datetime(d["day"])
    # one row order whatever order DuckDB hands the rows in (it does not keep insertion
    # order here): float sums, and so the fits, are then the same to the last bit in every
    # build (tests/test_incremental.py compares daily runs with a full build exactly)
    d = d.sort_values(["user_id", "day"], kind="stable").reset_index(drop=True)
    # group by category codes, not strings: 3x faster per grouping at 100k buyers
    d["user_id"] = d["user_id"].astype("category")
    d["purchases"] = d["purchases"].astype(float)
    d["net_revenue"] = d["net_revenue"].astype(float)
    return d


def _predict(model: str, purchase_days, buyers, origin, data_start, last_interaction_column,
             history: pd.DataFrame):
    """``history``: summarize(purchase_days, origin), computed once by the caller for every
    model (no model changes it; at 1M buyers each summary is a few seconds of pandas)."""
    if model == "bgnbd_gg":
        return predict_bgnbd_gg(history)
    if model == "gbm_rfm":
        return predict_gbm(purchase_days, buyers, origin, data_start, history)
    if model == "naive_last_90d":
        return predict_naive(history)
    if model == "lifecycle_rule":
        return predict_lifecycle(history, buyers, origin, last_interaction_column)
    raise ValueError(model)


def evaluate(purchase_days: pd.DataFrame, buyers: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Train every model on data up to the origin (end of as_of - 90 days), predict the 90 days
    after it and compare with what happened; one row per model, metric and segment (`all` and
    each acquisition channel). Empty when no buyer has a purchase before the origin."""
    d = _prepare(purchase_days)
    buyers = buyers.set_index("user_id")
    end = as_of + timedelta(days=1)
    origin = end - timedelta(days=HORIZON_DAYS)
    data_start = d["day"].min().date() if len(d) else origin
    columns = EVALUATION_COLUMNS
    history = summarize(d, origin)
    if len(history) < 20:
        return pd.DataFrame(columns=columns)
    actual = outcomes(d, origin, end, history.index)
    segment = buyers["source_channel"].reindex(history.index).fillna("unknown")
    rows = []
    for model in MODELS:
        pred = _predict(model, d, buyers, origin, data_start, "last_interaction_at_origin",
                        history)
        if pred is None:
            continue
        pred = pred.reindex(history.index)
        for seg in ["all", *sorted(segment.unique())]:
            mask = np.ones(len(history), bool) if seg == "all" else (segment == seg).to_numpy()
            for metric, value in metrics(pred[mask], actual[mask]).items():
                rows.append({"model": model, "metric": metric, "segment": seg, "value": value,
                             "users": int(mask.sum())})
    out = pd.DataFrame(rows)
    base = out[out["model"] == "naive_last_90d"].set_index(["metric", "segment"])["value"]
    out["baseline_value"] = [base.get((m, s), np.nan) for m, s in zip(out["metric"], out["segment"])]
    out["is_chosen"] = out["model"] == choose(out)
    out["training_window_start"] = data_start
    out["training_window_end"] = origin - timedelta(days=1)
    out["evaluation_window_start"] = origin
    out["evaluation_window_end"] = as_of
    return out[columns]


def choose(evaluation: pd.DataFrame) -> str:
    """The model with the best mean rank over the four metrics on all buyers (AUC higher,
    Brier, MAE and |total error| lower); ties go to the lower Brier score. Only models that
    predict both probability and value compete. DEFAULT_MODEL when nothing was evaluated."""
    e = evaluation[evaluation["segment"] == "all"]
    full = [m for m in ("bgnbd_gg", "gbm_rfm", "naive_last_90d")
            if set(e.loc[e["model"] == m, "metric"]) >= set(METRICS)]
    if not full:
        return DEFAULT_MODEL
    table = e[e["model"].isin(full)].pivot(index="model", columns="metric", values="value")
    score = pd.DataFrame({
        "auc": (-table["auc"].fillna(0.5)).rank(),
        "brier": table["brier"].rank(),
        "mae": table["mae_net_revenue"].rank(),
        "total": table["total_net_revenue_error"].abs().rank(),
    }).mean(axis=1)
    ranked = pd.DataFrame({"score": score, "brier": table["brier"]}).sort_values(
        ["score", "brier"], kind="stable")
    return str(ranked.index[0])


def score(purchase_days: pd.DataFrame, buyers: pd.DataFrame, as_of: date,
          model: str) -> pd.DataFrame:
    """Scores as of the end of ``as_of`` with ``model`` trained on everything up to then: one
    row per buyer (``buyers``)."""
    d = _prepare(purchase_days)
    b = buyers.set_index("user_id")
    end = as_of + timedelta(days=1)
    data_start = d["day"].min().date() if len(d) else end
    summary = summarize(d, end)
    history = summary.reindex(b.index)
    pred = (_predict(model, d, b, end, data_start, "last_interaction_at", summary)
            if len(d) else None)
    if pred is None or model == "lifecycle_rule":  # too little history for it: the default
        model = DEFAULT_MODEL
        pred = _predict(model, d, b, end, data_start, "last_interaction_at", summary)
    pred = pred.reindex(b.index)
    p = pred["p"].clip(0, 1).round(6)
    purchases = pred["purchases"].clip(lower=0).round(4)
    # no revenue without purchases as published: a buyer whose expected purchases round to 0
    # (e.g. 0.00003) gets 0 CNY, not the 0.01 its tiny expectation times the AOV rounds to
    revenue = pred["revenue"].clip(lower=0).round(2).where(purchases > 0, 0.0)
    last_90d = history["revenue_90d"].fillna(0.0).round(2)
    out = pd.DataFrame({
        "user_id": b.index,
        "as_of": as_of,
        "source_channel": b["source_channel"].to_numpy(),
        "department": b["department"].to_numpy(),
        "p_purchase_90d": p.to_numpy(),
        "expected_purchases_90d": purchases.to_numpy(),
        "expected_net_revenue_90d": revenue.to_numpy(),
        "net_revenue_last_90d": last_90d.to_numpy(),
        "value_at_risk_90d": (last_90d * (1.0 - p)).round(2).to_numpy(),
        "model_version": f"{model}/v{MODEL_FAMILY_VERSION} trained to {as_of.isoformat()}",
    })
    return out[SCORE_COLUMNS].sort_values("user_id", kind="stable").reset_index(drop=True)

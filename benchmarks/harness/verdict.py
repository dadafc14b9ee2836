"""The verdict of a results directory: who wins where, mean ranks, and whether it is noise.

From the per-pair summary of :func:`report.summarise` (mean and standard deviation of the
score over seeds: accuracy for classification, R² for regression):

* per dataset, the winner, its lead over the runner-up and over the cascade, whether the
  cascade's gap to the best exceeds two standard errors over seeds, and the fit seconds of the
  winner against the cascade's;
* each model's mean rank over the datasets (rank 1 is the best mean score on a dataset, ties
  share the mean of their ranks), over all datasets and per task;
* the Friedman test of whether the models' ranks differ at all, and the Nemenyi critical
  difference (Demšar 2006, "Statistical comparisons of classifiers over multiple data sets",
  JMLR 7): two models whose mean ranks differ by less than
  ``CD = q_alpha * sqrt(k (k + 1) / (6 N))`` (k models, N datasets, ``q_alpha`` the studentized
  range's quantile over ``sqrt(2)``) are not significantly different.

Both tests need complete blocks, every model scored on every dataset: models that ran on at
most half of the datasets are left out, then datasets that lack one of the remaining models;
the report says which.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

ALPHA = 0.05
# Standard errors over seeds that the cascade's gap to the best must exceed to be called real.
STANDARD_ERRORS = 2.0
TASKS = ("classification", "regression")


def score_table(summary: list[dict], task: str | None = None) -> dict[str, dict[str, float]]:
    """Mean score per dataset and model, ``{dataset: {model: score}}``.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`report.summarise`.
    task : {"classification", "regression"} or None, default=None
        Only the datasets of this task; None keeps all.

    Returns
    -------
    table : dict
        Datasets in the summary's order; NaN scores are left out.
    """
    table: dict[str, dict[str, float]] = {}
    for entry in summary:
        if task is not None and entry.get("task", "classification") != task:
            continue
        score = entry["score_mean"]
        if score is not None and not math.isnan(score):
            table.setdefault(entry["dataset"], {})[entry["model"]] = score
    return table


def _same_score(a: float, b: float) -> bool:
    # Means over seeds of the same accuracies can differ in the last bit with the order of the
    # sum (0.9705 against 0.9704999999999999): that is a tie, not a rank.
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


def ranks(scores: dict[str, float]) -> dict[str, float]:
    """Rank 1 for the highest score; tied models share the mean of the ranks they span.

    Scores equal up to floating-point rounding are tied.
    """
    ordered = sorted(scores.items(), key=lambda item: -item[1])
    result: dict[str, float] = {}
    start = 0
    while start < len(ordered):
        end = start
        while end + 1 < len(ordered) and _same_score(ordered[end + 1][1], ordered[start][1]):
            end += 1
        for model, _ in ordered[start : end + 1]:
            result[model] = (start + end) / 2 + 1
        start = end + 1
    return result


def nemenyi_critical_difference(k: int, n: int, alpha: float = ALPHA) -> tuple[float, float]:
    """The Nemenyi test's ``q_alpha`` and critical difference of mean ranks.

    Parameters
    ----------
    k : int
        Models compared (at least 2).
    n : int
        Datasets.
    alpha : float, default=0.05

    Returns
    -------
    q_alpha, cd : float
        ``q_alpha`` is the studentized range's ``1 - alpha`` quantile for ``k`` groups and
        infinite degrees of freedom over ``sqrt(2)`` (2.728 for k = 5 at 0.05, as in Demšar's
        table); ``cd = q_alpha * sqrt(k (k + 1) / (6 n))``.
    """
    from scipy.stats import studentized_range

    q_alpha = float(studentized_range.ppf(1 - alpha, k, math.inf)) / math.sqrt(2)
    return q_alpha, q_alpha * math.sqrt(k * (k + 1) / (6 * n))


@dataclass
class RankTest:
    """Mean ranks over complete blocks, with the Friedman test and the Nemenyi CD.

    Attributes
    ----------
    models : list of str
        The models compared, best mean rank first.
    datasets : list of str
        The datasets on which all of them have a score (the blocks).
    mean_ranks : dict
        Mean rank per model over ``datasets``.
    statistic, p_value : float or None
        Friedman's chi-square (``scipy.stats.friedmanchisquare``, with its tie correction) and
        its p-value; None when there are fewer than 3 models or 2 datasets.
    q_alpha, cd : float or None
        The Nemenyi quantile and critical difference at ``alpha``; None with fewer than 2
        models or 2 datasets.
    same_as_best : list of str
        Models whose mean rank is within ``cd`` of the best one's, the best included.
    excluded_models, excluded_datasets : dict
        What was left out to make complete blocks, with why.
    """

    models: list[str]
    datasets: list[str]
    mean_ranks: dict[str, float]
    statistic: float | None = None
    p_value: float | None = None
    q_alpha: float | None = None
    cd: float | None = None
    alpha: float = ALPHA
    same_as_best: list[str] = field(default_factory=list)
    excluded_models: dict[str, str] = field(default_factory=dict)
    excluded_datasets: dict[str, str] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        """Whether the Friedman test rejects "all models rank alike" at ``alpha``."""
        return self.p_value is not None and self.p_value < self.alpha


def rank_test(table: dict[str, dict[str, float]], alpha: float = ALPHA) -> RankTest:
    """Mean ranks, Friedman test and Nemenyi CD over the complete blocks of ``table``.

    Parameters
    ----------
    table : dict
        ``{dataset: {model: mean score}}``, higher is better.
    alpha : float, default=0.05

    Returns
    -------
    test : RankTest
    """
    from scipy.stats import friedmanchisquare

    every_model = list(dict.fromkeys(m for scores in table.values() for m in scores))
    n_all = len(table)
    excluded_models = {}
    models = []
    for model in every_model:
        count = sum(model in scores for scores in table.values())
        # Keeping it would cost the test at least half of its datasets.
        if count * 2 <= n_all and n_all > 1:
            excluded_models[model] = f"scored on {count} of {n_all} datasets"
        else:
            models.append(model)
    datasets, excluded_datasets = [], {}
    for dataset, scores in table.items():
        missing = [m for m in models if m not in scores]
        if missing:
            excluded_datasets[dataset] = "no score of " + ", ".join(missing)
        else:
            datasets.append(dataset)
    per_dataset = [ranks({m: table[d][m] for m in models}) for d in datasets]
    mean_ranks = {
        m: statistics.fmean(r[m] for r in per_dataset) if per_dataset else math.nan for m in models
    }
    models = sorted(models, key=lambda m: mean_ranks[m])
    test = RankTest(
        models,
        datasets,
        mean_ranks,
        alpha=alpha,
        excluded_models=excluded_models,
        excluded_datasets=excluded_datasets,
    )
    k, n = len(models), len(datasets)
    if k >= 3 and n >= 2:
        columns = [[table[d][m] for d in datasets] for m in models]
        statistic, p_value = friedmanchisquare(*columns)
        # Identical scores on every dataset leave nothing to rank: scipy returns NaN.
        if not math.isnan(statistic):
            test.statistic, test.p_value = float(statistic), float(p_value)
    # One dataset ranks the models but says nothing about noise.
    if k >= 2 and n >= 2:
        test.q_alpha, test.cd = nemenyi_critical_difference(k, n, alpha)
        best = mean_ranks[models[0]]
        test.same_as_best = [m for m in models if mean_ranks[m] - best < test.cd]
    return test


def _difference_error(first: dict, second: dict) -> float | None:
    """Standard error of the difference of two mean scores over seeds,
    ``sqrt(s1²/n1 + s2²/n2)``; None when either side has fewer than 2 seeds."""
    if min(first["n_seeds"], second["n_seeds"]) < 2:
        return None
    return math.sqrt(
        first["score_std"] ** 2 / first["n_seeds"] + second["score_std"] ** 2 / second["n_seeds"]
    )


def dataset_verdicts(summary: list[dict], reference: str = "cascade") -> list[dict]:
    """Per dataset: the winner, its leads, the reference model's gap and the fit seconds.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`report.summarise`.
    reference : str, default="cascade"
        The model whose gap to the best is tested against the noise over seeds.

    Returns
    -------
    verdicts : list of dict
        One per dataset with a score: ``dataset``, ``task``, ``metric``, ``winner`` (and
        ``winners``, all models that share the best score), ``winner_score``, ``runner_up``
        (the best below the winners), ``lead`` (over the runner-up), ``reference_score``,
        ``reference_gap`` (the best other model's score minus the reference's: negative when
        the reference wins, 0 when it ties), ``standard_error`` of that gap, ``beyond_noise``
        (True, False, or None with fewer than 2 seeds on either side), ``winner_fit_seconds``
        and ``reference_fit_seconds``.
    """
    by_dataset: dict[str, list[dict]] = {}
    for entry in summary:
        score = entry["score_mean"]
        if score is not None and not math.isnan(score):
            by_dataset.setdefault(entry["dataset"], []).append(entry)
    verdicts = []
    for dataset, entries in by_dataset.items():
        ordered = sorted(entries, key=lambda e: -e["score_mean"])
        winner = ordered[0]
        # Models that share the best score all win (accuracy ties on small test sets).
        winners = [
            e["model"] for e in ordered if _same_score(e["score_mean"], winner["score_mean"])
        ]
        runner_up = next(
            (e for e in ordered if not _same_score(e["score_mean"], winner["score_mean"])), None
        )
        mine = next((e for e in entries if e["model"] == reference), None)
        verdict = {
            "dataset": dataset,
            "task": winner.get("task", "classification"),
            "metric": winner.get("metric", "accuracy"),
            "winner": winner["model"],
            "winners": winners,
            "winner_score": winner["score_mean"],
            "runner_up": runner_up["model"] if runner_up else None,
            "lead": winner["score_mean"] - runner_up["score_mean"] if runner_up else None,
            "reference_score": mine["score_mean"] if mine else None,
            "reference_gap": None,
            "standard_error": None,
            "beyond_noise": None,
            "winner_fit_seconds": winner["fit_seconds_mean"],
            "reference_fit_seconds": mine["fit_seconds_mean"] if mine else None,
        }
        # The reference against the best of the others: when it wins, that is its lead.
        other = next((e for e in ordered if e is not mine), None)
        if mine is not None and other is not None:
            gap = other["score_mean"] - mine["score_mean"]
            same = _same_score(other["score_mean"], mine["score_mean"])
            verdict["reference_gap"] = 0.0 if same else gap
            error = _difference_error(mine, other)
            if error is not None:
                verdict["standard_error"] = error
                verdict["beyond_noise"] = abs(verdict["reference_gap"]) > STANDARD_ERRORS * error
        verdicts.append(verdict)
    return verdicts


# Costs compared head to head: (summary field, column title).
HEAD_TO_HEAD_COSTS = (
    ("fit_seconds_mean", "fit s"),
    ("fit_cpu_seconds_mean", "fit CPU s"),
    ("predict_rows_per_second", "predict rows/s"),
    ("peak_delta_mb", "peak MB"),
    ("model_mb_mean", "model MB"),
)


def head_to_head(summary: list[dict], reference: str = "cascade") -> list[dict]:
    """Every other model against the reference, over the datasets where both have a score.

    Parameters
    ----------
    summary : list of dict
        Rows of :func:`report.summarise`.
    reference : str, default="cascade"
        The model the others are compared with.

    Returns
    -------
    comparisons : list of dict
        One per other model, in order of appearance: ``model``, ``datasets`` (how many both
        scored), ``better``, ``worse`` and ``tied`` (datasets where the model's mean score is
        above, below or equal to the reference's), ``better_beyond_noise`` and
        ``worse_beyond_noise`` (those whose difference exceeds two standard errors over seeds),
        and ``cost_ratios``: per cost of :data:`HEAD_TO_HEAD_COSTS`, the median over the
        datasets of the model's cost over the reference's (None when no dataset has both).
    """
    entries: dict[str, dict[str, dict]] = {}
    for entry in summary:
        score = entry["score_mean"]
        if score is not None and not math.isnan(score):
            entries.setdefault(entry["model"], {})[entry["dataset"]] = entry
    mine = entries.get(reference, {})
    comparisons = []
    for model, by_dataset in entries.items():
        if model == reference:
            continue
        shared = [d for d in by_dataset if d in mine]
        counts = dict.fromkeys(
            ("better", "worse", "tied", "better_beyond_noise", "worse_beyond_noise"), 0
        )
        ratios: dict[str, list[float]] = {cost: [] for cost, _ in HEAD_TO_HEAD_COSTS}
        for dataset in shared:
            theirs, ours = by_dataset[dataset], mine[dataset]
            difference = theirs["score_mean"] - ours["score_mean"]
            if _same_score(theirs["score_mean"], ours["score_mean"]):
                side = "tied"
            else:
                side = "better" if difference > 0 else "worse"
            counts[side] += 1
            error = _difference_error(theirs, ours)
            if side != "tied" and error is not None and abs(difference) > STANDARD_ERRORS * error:
                counts[f"{side}_beyond_noise"] += 1
            for cost, _ in HEAD_TO_HEAD_COSTS:
                value, base = theirs.get(cost), ours.get(cost)
                usable = [v for v in (value, base) if v is not None and not math.isnan(v)]
                if len(usable) == 2 and base > 0 and value > 0:
                    ratios[cost].append(value / base)
        comparisons.append(
            {
                "model": model,
                "datasets": len(shared),
                **counts,
                "cost_ratios": {
                    cost: statistics.median(values) if values else None
                    for cost, values in ratios.items()
                },
            }
        )
    return comparisons


# ------------------------------------------------------------------------------ markdown
def _points(task: str, value: float | None, signed: bool = False) -> str:
    """A score or a difference of scores: accuracy in %, R² as it is."""
    if value is None or math.isnan(value):
        return ""
    sign = "+" if signed else ""
    if task == "regression":
        return f"{value:{sign}.3f}"
    return f"{100 * value:{sign}.2f}"


def verdict_table(verdicts: list[dict], labels: dict[str, str]) -> str:
    """The per-dataset verdicts as a Markdown table."""
    lines = [
        "| dataset | score | winner | winner's score | lead over runner-up | cascade | "
        "best - cascade | beyond 2 SE? | fit s: winner / cascade |",
        "|---|---|---|---:|---|---:|---:|---|---:|",
    ]
    for v in verdicts:
        task = v["task"]
        runner_up = labels.get(v["runner_up"], v["runner_up"]) if v["runner_up"] else ""
        lead = f"{_points(task, v['lead'], signed=True)} ({runner_up})" if runner_up else ""
        gap, noise = "", ""
        if v["reference_gap"] is not None:
            if v["reference_gap"] < 0:
                gap = f"cascade wins by {_points(task, -v['reference_gap'])}"
            elif v["reference_gap"] == 0:
                gap = "tied for best"
            else:
                gap = _points(task, v["reference_gap"])
            if v["beyond_noise"] is None:
                noise = "one seed"
            else:
                noise = "yes" if v["beyond_noise"] else "no"
                noise += f" (SE {_points(task, v['standard_error'])})"
        fits = _seconds(v["winner_fit_seconds"])
        if v["reference_fit_seconds"] is not None and v["winner"] != "cascade":
            fits += f" / {_seconds(v['reference_fit_seconds'])}"
        winners = " = ".join(labels.get(m, m) for m in v.get("winners", [v["winner"]]))
        lines.append(
            f"| {v['dataset']} | {'R²' if task == 'regression' else 'accuracy %'} "
            f"| {winners} | {_points(task, v['winner_score'])} "
            f"| {lead} | {_points(task, v['reference_score'])} | {gap} | {noise} | {fits} |"
        )
    return "\n".join(lines)


def head_to_head_table(comparisons: list[dict], labels: dict[str, str]) -> str:
    """The head-to-head comparisons as a Markdown table."""
    costs = " | ".join(title for _, title in HEAD_TO_HEAD_COSTS)
    lines = [
        f"| model | datasets | better than the cascade (beyond 2 SE) | worse (beyond 2 SE) | "
        f"tied | {costs} |",
        "|---|---:|---|---|---:" + "|---:" * len(HEAD_TO_HEAD_COSTS) + "|",
    ]
    for c in comparisons:
        cells = []
        for cost, _ in HEAD_TO_HEAD_COSTS:
            ratio = c["cost_ratios"][cost]
            cells.append("" if ratio is None else f"{ratio:.2g} x")
        lines.append(
            f"| {labels.get(c['model'], c['model'])} | {c['datasets']} "
            f"| {c['better']} ({c['better_beyond_noise']}) | {c['worse']} "
            f"({c['worse_beyond_noise']}) | {c['tied']} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def rank_table(tests: dict[str, RankTest], labels: dict[str, str]) -> str:
    """Mean ranks per group of datasets, ``*`` marking models within the CD of the best."""
    groups = [name for name, test in tests.items() if test.datasets]
    if not groups:
        return ""
    models = list(dict.fromkeys(m for name in groups for m in tests[name].models))
    first = tests[groups[0]]
    models.sort(key=lambda m: first.mean_ranks.get(m, math.inf))
    header = " | ".join(f"{name} (N={len(tests[name].datasets)})" for name in groups)
    lines = [f"| model | {header} |", "|---" + "|---:" * len(groups) + "|"]
    for model in models:
        cells = []
        for name in groups:
            test = tests[name]
            if model not in test.mean_ranks:
                cells.append("")
                continue
            mark = " *" if model in test.same_as_best and test.cd is not None else ""
            cells.append(f"{test.mean_ranks[model]:.2f}{mark}")
        lines.append(f"| {labels.get(model, model)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_lines(tests: dict[str, RankTest], labels: dict[str, str]) -> list[str]:
    """One bullet per group: the Friedman test, the CD and who is not worse than the best."""
    lines = []
    for name, test in tests.items():
        k, n = len(test.models), len(test.datasets)
        if n == 0:
            continue
        head = f"- {name} ({n} datasets, {k} models): "
        if test.statistic is None:
            head += "no Friedman test (it needs 3 models and 2 datasets)"
        else:
            verdict = "the ranks differ" if test.significant else "no evidence the ranks differ"
            head += (
                f"Friedman χ² = {test.statistic:.2f}, p = {test.p_value:.2g} ({verdict} at "
                f"alpha = {test.alpha})"
            )
        if test.cd is not None:
            names = ", ".join(labels.get(m, m) for m in test.same_as_best)
            head += (
                f"; Nemenyi CD = {test.cd:.2f} (q = {test.q_alpha:.3f}); not significantly "
                f"worse than the best ({labels.get(test.models[0], test.models[0])}, mean rank "
                f"{test.mean_ranks[test.models[0]]:.2f}): {names}"
            )
        lines.append(head)
        left_out = {**test.excluded_models, **test.excluded_datasets}
        if left_out:
            lines.append(
                "  - left out for complete blocks: "
                + "; ".join(f"{labels.get(k, k)} ({why})" for k, why in left_out.items())
            )
    return lines


def rank_tests(summary: list[dict]) -> dict[str, RankTest]:
    """The rank tests over all datasets and over each task's, keyed by group name."""
    tests = {"all": rank_test(score_table(summary))}
    for task in TASKS:
        table = score_table(summary, task)
        if table and len(table) < len(score_table(summary)):
            tests[task] = rank_test(table)
    return tests


# ------------------------------------------------------------------------------- figures
def plot_cd_diagram(tests: dict[str, RankTest], labels: dict[str, str], path: Path) -> Path | None:
    """Critical-difference diagrams (Demšar 2006), one panel per group with a CD.

    Mean ranks on an axis, best on the left; models joined by a bar are not significantly
    different (their mean ranks differ by less than the CD).
    """
    drawn = {name: t for name, t in tests.items() if t.cd is not None and len(t.models) >= 2}
    if not drawn:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    heights = [2.0 + 0.28 * len(t.models) for t in drawn.values()]
    figure, axes = plt.subplots(
        len(drawn), 1, figsize=(10, sum(heights)), gridspec_kw={"height_ratios": heights}
    )
    axes = [axes] if len(drawn) == 1 else list(axes)
    for ax, (name, test) in zip(axes, drawn.items(), strict=True):
        _draw_cd(ax, name, test, labels)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _draw_cd(ax, name: str, test: RankTest, labels: dict[str, str]) -> None:
    k = len(test.models)
    ranks_ = [test.mean_ranks[m] for m in test.models]
    step = 1.0
    half = math.ceil(k / 2)
    # Room on both sides for the labels.
    ax.set_xlim(-2.6, k + 3.6)
    ax.axis("off")
    ax.plot([1, k], [0, 0], color="black", linewidth=1)
    for tick in range(1, k + 1):
        ax.plot([tick, tick], [0, 0.15], color="black", linewidth=1)
        ax.text(tick, 0.3, str(tick), ha="center", va="bottom", fontsize=9)
    # The critical difference, as a bar of its length from rank 1.
    ax.plot([1, 1 + test.cd], [1.2, 1.2], color="black", linewidth=2)
    ax.text(1 + test.cd / 2, 1.35, f"CD = {test.cd:.2f}", ha="center", va="bottom", fontsize=9)
    # Maximal runs of models whose mean ranks lie within the CD of each other.
    cliques, last_end = [], -1
    for start in range(k):
        end = start
        while end + 1 < k and ranks_[end + 1] - ranks_[start] < test.cd:
            end += 1
        if end > start and end > last_end:
            cliques.append((start, end))
            last_end = end
    for level, (start, end) in enumerate(cliques):
        y = -0.35 - 0.22 * level
        ax.plot([ranks_[start] - 0.05, ranks_[end] + 0.05], [y, y], color="C3", linewidth=4)
    # The labels start below the bars of the cliques.
    top = 0.35 + 0.22 * len(cliques)
    for index, (model, rank) in enumerate(zip(test.models, ranks_, strict=True)):
        left = index < half
        level = -top - (index if left else k - 1 - index) * step
        edge = 0.5 if left else k + 0.5
        ax.plot([rank, rank, edge], [0, level, level], color="0.3", linewidth=1)
        ax.text(
            edge - 0.05 if left else edge + 0.05,
            level,
            f"{labels.get(model, model)} ({rank:.2f})",
            ha="right" if left else "left",
            va="center",
            fontsize=9,
        )
    ax.set_ylim(-top - half * step, 2.2)
    p_text = f", Friedman p = {test.p_value:.2g}" if test.p_value is not None else ""
    ax.set_title(
        f"{name}: mean rank over {len(test.datasets)} datasets (1 = best){p_text}", fontsize=10
    )

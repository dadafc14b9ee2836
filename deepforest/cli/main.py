"""The ``deepforest`` command line: thin parsing and messages over the estimators.

Subcommands: ``demo`` (the README's first command), ``train``, ``predict``, ``evaluate`` and
``info`` for CSV files. The work is done in :mod:`deepforest.cli.commands`; here arguments are
parsed, results printed (text, or JSON with ``--json``) and failures turned into one line on
stderr with a non-zero exit code: 2 for a mistake in the files or options, 1 for a bug (with
its traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import stat
import sys
import tempfile
import textwrap
from pathlib import Path

from . import termination
from .defaults import DEFAULT_CHUNK_ROWS
from .errors import UserError

EXIT_USER_ERROR = 2
EXIT_UNEXPECTED = 1
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like every other error of the tool."""

    def error(self, message: str):
        self.exit(EXIT_USER_ERROR, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _paragraph(text: str) -> str:
    # Descriptions are filled here since the raw formatter (kept for the examples) does not.
    return textwrap.fill(text, width=min(shutil.get_terminal_size().columns - 2, 98))


def _examples(text: str) -> str:
    return "examples:\n" + textwrap.indent(textwrap.dedent(text).strip(), "  ")


def _whole_number_at_least(minimum: int):
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(
                f"expected a number of at least {minimum}, got {value}"
            )
        return value

    return parse


_positive_int = _whole_number_at_least(1)
_non_negative_int = _whole_number_at_least(0)


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction such as 0.2, got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {value:g}")
    return value


def _max_features(text: str):
    if text in ("sqrt", "log2"):
        return text
    if text.lower() == "all":
        return "all"  # None to the estimator; a marker here, since None means "not given"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected sqrt, log2, all, a count or a fraction, got {text!r}"
        ) from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"a fraction of features must be in (0, 1], got {value:g}")
    return value


def _boosting_line(stage: dict) -> str:
    """How many rounds the boosting stage took and what its search measured out of sample."""
    line = f"  boosting: {stage['rounds']} rounds"
    if stage["score_after"] is None:
        return f"{line} (a given count, not searched), {stage['fit_time']:.1f} s"
    verdict = "" if stage["rounds"] else " (dropped: it did not help)"
    return (
        f"{line}{verdict}, out-of-sample score {stage['score_before']:.4f} -> "
        f"{stage['score_after']:.4f}, {stage['fit_time']:.1f} s"
    )


def _boost_rounds(text: str):
    if text == "auto":
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected auto or a count of 0 or more, got {text!r}")
    return value


def _max_samples(text: str):
    """A count of rows (a whole number) or a fraction of them in (0, 1]."""
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        pass
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a count of rows or a fraction such as 0.2, got {text!r}"
        ) from None
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(
            f"expected a count of at least 1 or a fraction in (0, 1], got {value:g}"
        )
    return value


def _min_samples_leaf(text: str):
    try:
        return _positive_int(text)
    except argparse.ArgumentTypeError:
        value = _fraction(text)
        if value == 0:
            raise argparse.ArgumentTypeError("expected a count or a fraction above 0") from None
        return value


def _names(values: list[str] | None) -> list[str]:
    """Column lists given as repeated options and/or comma-separated."""
    return [name.strip() for value in values or [] for name in value.split(",") if name.strip()]


def _mark(text: str) -> str:
    if len(text) != 1 or text.isalnum() or text in "+-":
        raise argparse.ArgumentTypeError("expected one punctuation character, such as , or .")
    return text


def _add_reading_options(parser: argparse.ArgumentParser, numbers: bool = False) -> None:
    group = parser.add_argument_group("reading the CSV file")
    if numbers:
        group.add_argument(
            "--decimal",
            type=_mark,
            default=".",
            metavar="MARK",
            help="decimal mark of the numbers (default: .); saved with the model",
        )
        group.add_argument(
            "--thousands",
            type=_mark,
            metavar="SEP",
            help="thousands separator of the numbers, removed before reading them (default: "
            "none); saved with the model",
        )
    group.add_argument(
        "--delimiter", help="column delimiter (default: detected among , ; tab |); 'tab' for tab"
    )
    group.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether the first row names the columns (default: detected); without a header, "
        "columns are named 1, 2, 3, ...",
    )
    group.add_argument("--encoding", default="utf-8", help="text encoding (default: utf-8)")


def _add_output_options(parser: argparse.ArgumentParser, quiet_help: str) -> None:
    parser.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help=quiet_help)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="deepforest",
        description=_paragraph(
            "Deep forest from the command line: train cascade forests on CSV files, "
            "predict, evaluate and inspect the saved models."
        ),
        epilog=_examples(
            """
            deepforest demo
            deepforest train adult.csv --target income -o adult.skops
            deepforest predict adult.skops new.csv -o predictions.csv --proba
            deepforest evaluate adult.skops test.csv
            deepforest info adult.skops
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"deepforest {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="let unexpected errors propagate (for a debugger) instead of exiting with status 1",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=_Parser
    )
    demo = commands.add_parser(
        "demo", help="train a cascade and a random forest on a built-in dataset"
    )
    demo.add_argument("--n-jobs", type=int, default=-1)
    demo.add_argument("--random-state", type=int, default=0)

    _add_train_parser(commands)
    _add_predict_parser(commands)
    _add_evaluate_parser(commands)
    info = commands.add_parser(
        "info",
        help="describe a model file: schema, layers, training metrics, versions",
        description=_paragraph(
            "Describe a model file without loading its forests: the columns it needs, "
            "its target and classes, the layers grown, the held-out metrics from training and the "
            "library versions it was saved with. With --check, also load the model and check "
            "that its parts fit together, as predict does before it predicts."
        ),
        epilog=_examples(
            "deepforest info adult.skops\ndeepforest info adult.skops --json\n"
            "deepforest info model-from-a-stranger.skops --check"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    info.add_argument("model", help="a model file written by deepforest train")
    info.add_argument("--json", action="store_true", help="print the description as JSON")
    info.add_argument(
        "--check",
        action="store_true",
        help="load the model and check every part against its structure (exit 2 if one fails)",
    )
    return parser


def _add_train_parser(commands) -> None:
    train = commands.add_parser(
        "train",
        help="train a cascade forest on a CSV file and save it",
        description=_paragraph(
            "Train a cascade forest on a CSV file. Column types are inferred (a column "
            "is numeric if all its cells are numbers, categorical otherwise); categorical "
            "columns and missing values (empty, NA, ?, --na-values) are encoded inside the "
            "saved model, so predict applies exactly the same encoding. Held-out metrics are "
            "printed and saved with the model, which is trained on the other rows (on all of "
            "them with --refit, once measured). Progress goes to stderr, results to stdout."
        ),
        epilog=_examples(
            """
            deepforest train adult.csv --target income -o adult.skops
            deepforest train adult.csv --target income --refit -o adult.skops
            deepforest train adult.csv.gz -t income --drop fnlwgt --n-trees 50 --json
            deepforest train houses.csv -t price --task regression --validation houses_2024.csv
            deepforest train data.tsv -t 5 --no-header --delimiter tab --na-values -999
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_training_data_options(train)
    _add_reading_options(train, numbers=True)
    _add_output_options(train, "print warnings and results only, no progress")
    _add_estimator_options(train)


def _add_training_data_options(train) -> None:
    """``train``'s file, target, output and held-out rows."""
    train.add_argument("data", help="training CSV file (may be .gz, .bz2, .xz or .zip)")
    train.add_argument("-t", "--target", required=True, help="name of the column to predict")
    train.add_argument(
        "-o",
        "--output",
        help="model file to write (default: the data file's name with .skops, in the current "
        "directory)",
    )
    train.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto (default): classification for text labels or at most 20 distinct whole "
        "numbers, regression otherwise",
    )
    held_out = train.add_mutually_exclusive_group()
    held_out.add_argument(
        "--test-size",
        type=_fraction,
        default=0.2,
        metavar="F",
        help="fraction of rows held out to measure the model (default: 0.2; 0: none)",
    )
    held_out.add_argument(
        "--validation", metavar="FILE", help="measure the model on this CSV file instead"
    )
    train.add_argument(
        "--refit",
        action="store_true",
        help="after measuring, train the saved model again on all rows of the training file, "
        "held-out rows included (the metrics stay those of the model measured; with "
        "--validation the model is trained on all of them already)",
    )
    train.add_argument(
        "--drop", action="append", metavar="COLUMNS", help="columns to leave out (comma-separated)"
    )
    train.add_argument(
        "--categorical",
        action="append",
        metavar="COLUMNS",
        help="columns to treat as categorical even if they hold numbers (comma-separated)",
    )
    train.add_argument(
        "--na-values",
        action="append",
        metavar="VALUES",
        help="more cell values meaning 'missing' (comma-separated), saved with the model",
    )
    train.add_argument(
        "--force",
        action="store_true",
        help="overwrite the model file if it exists, and train even if the model may need more "
        "memory than is available (estimated before the fit; see DEEPFOREST_MEMORY_LIMIT)",
    )


def _add_estimator_options(train) -> None:
    """``train``'s options that set the cascade's parameters."""
    estimator = train.add_argument_group(
        "estimator options (default: the estimator's own defaults unless stated)"
    )
    estimator.add_argument(
        "--n-estimators",
        type=_non_negative_int,
        metavar="N",
        help="forest pairs per layer (0: only the --layer-estimator ones)",
    )
    estimator.add_argument(
        "--layer-estimator",
        action="append",
        choices=["hist_gb", "xgboost", "lightgbm"],
        metavar="NAME",
        help="add gradient boosting to every layer, beside the forests: hist_gb "
        "(scikit-learn's HistGradientBoosting), xgboost or lightgbm; repeatable",
    )
    estimator.add_argument(
        "--predictor",
        choices=["forest", "xgboost", "lightgbm"],
        metavar="NAME",
        help="a final predictor on the last layer's output: forest, xgboost or lightgbm",
    )
    estimator.add_argument("--n-trees", type=_positive_int, metavar="N", help="trees per forest")
    estimator.add_argument(
        "--boost-rounds",
        type=_boost_rounds,
        metavar="N",
        help="rounds of the boosting stage on the cascade's out-of-sample output: auto (the "
        "default: chosen on held-out folds of the training rows), 0 (no stage) or a count",
    )
    estimator.add_argument(
        "--max-layers", type=_positive_int, metavar="N", help="most layers grown"
    )
    estimator.add_argument(
        "--n-tolerant-rounds",
        type=_positive_int,
        metavar="N",
        help="stop after N layers without improvement",
    )
    estimator.add_argument(
        "--max-features",
        type=_max_features,
        metavar="M",
        help="sqrt, log2, all, a count or a fraction",
    )
    estimator.add_argument(
        "--max-depth", type=_positive_int, metavar="N", help="deepest tree level"
    )
    estimator.add_argument(
        "--min-samples-leaf", type=_min_samples_leaf, metavar="N", help="fewest rows in a leaf"
    )
    estimator.add_argument(
        "--max-samples",
        type=_max_samples,
        metavar="N",
        help="rows drawn for each tree: a count such as 50000, or a fraction such as 0.2 (1.0: "
        "as many as the training rows; default: that for classification, at most 8192 for "
        "regression); smaller is faster and lighter on large data",
    )
    estimator.add_argument(
        "--spill-dir",
        metavar="DIR",
        help="keep fitted layers in files in DIR while training, so that only one layer's "
        "forests are in memory; the model file still holds every forest",
    )
    estimator.add_argument(
        "--n-jobs",
        type=int,
        default=-1,
        metavar="N",
        help="parallel jobs (default: -1, all cores; the estimators' own default is one)",
    )
    estimator.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the split and the forests (default: 0, reproducible)",
    )


def _add_predict_parser(commands) -> None:
    predict = commands.add_parser(
        "predict",
        help="predict the target of every row of a CSV file",
        description=_paragraph(
            "Predict with a saved model. The columns are checked against the model's "
            "schema: a missing column is an error, extra columns are ignored with a warning, and "
            "categories unseen in training are treated as missing values. The file is read and "
            "scored in chunks, so files larger than memory can be scored. The output is written "
            "to a temporary file and renamed only when complete."
        ),
        epilog=_examples(
            """
            deepforest predict adult.skops new.csv -o predictions.csv
            deepforest predict adult.skops new.csv.gz -o predictions.csv.gz --proba --id-column id
            deepforest predict adult.skops new.csv | head
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("model", help="a model file written by deepforest train")
    predict.add_argument("data", help="CSV file to score (may be compressed)")
    predict.add_argument(
        "-o", "--output", help="CSV file to write (.gz: compressed; default: standard output)"
    )
    predict.add_argument(
        "--proba", action="store_true", help="add one probability column per class (proba_<class>)"
    )
    predict.add_argument("--id-column", metavar="C", help="copy this column to the output first")
    predict.add_argument("--force", action="store_true", help="overwrite the output if it exists")
    _add_strict_option(predict)
    _add_chunk_option(predict)
    _add_reading_options(predict)
    _add_output_options(predict, "print warnings only, no progress")


def _add_strict_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict",
        action="store_true",
        help="fail when a numeric column holds cells that are not numbers, instead of warning "
        "and treating them as missing (categories unseen in training stay a warning)",
    )


def _add_chunk_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=DEFAULT_CHUNK_ROWS,
        metavar="ROWS",
        help=f"rows read and scored at a time (default: {DEFAULT_CHUNK_ROWS}); bounds memory",
    )


def _add_evaluate_parser(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate",
        help="measure a model on a labelled CSV file",
        description=_paragraph(
            "Score a labelled CSV file (holding the target column) with a saved model "
            "and print metrics: accuracy, balanced accuracy, log-loss and the confusion matrix for "
            "classification; R², MAE and RMSE for regression."
        ),
        epilog=_examples(
            """
            deepforest evaluate adult.skops adult_test.csv
            deepforest evaluate adult.skops adult_test.csv --json
            """
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    evaluate.add_argument("model", help="a model file written by deepforest train")
    evaluate.add_argument("data", help="labelled CSV file")
    _add_strict_option(evaluate)
    _add_chunk_option(evaluate)
    _add_reading_options(evaluate)
    _add_output_options(evaluate, "print warnings and results only, no progress")


# ---------------------------------------------------------------------------------- commands
def _logger(quiet: bool):
    def log(message: str) -> None:
        if not quiet or message.startswith("warning:"):
            print(f"deepforest: {message}", file=sys.stderr, flush=True)

    return log


def _print_json(result: dict) -> None:
    print(json.dumps(result, indent=2, default=str))


def _default_model_path(data: str) -> str:
    name = os.path.basename(data)
    for suffix in (".gz", ".bz2", ".xz", ".zip"):
        name = name.removesuffix(suffix)
    stem, _ = os.path.splitext(name)
    return f"{stem or 'model'}.skops"


def _run_train(args) -> int:
    from .commands import train

    params = {
        "n_estimators": args.n_estimators,
        "n_trees": args.n_trees,
        "max_layers": args.max_layers,
        "n_tolerant_rounds": args.n_tolerant_rounds,
        "max_features": args.max_features,
        "max_depth": args.max_depth,
        "min_samples_leaf": args.min_samples_leaf,
        "max_samples": args.max_samples,
        "spill_dir": args.spill_dir,
        "layer_estimators": args.layer_estimator,
        "predictor": args.predictor,
        "boost_rounds": args.boost_rounds,
    }
    # Options left out keep the estimator's defaults.
    params = {name: value for name, value in params.items() if value is not None}
    if params.get("max_features") == "all":
        params["max_features"] = None
    params.update(n_jobs=args.n_jobs, random_state=args.random_state)
    result = train(
        args.data,
        args.target,
        args.output or _default_model_path(args.data),
        task=args.task,
        test_size=args.test_size,
        validation=args.validation,
        refit=args.refit,
        drop=_names(args.drop),
        categorical=_names(args.categorical),
        na_values=_names(args.na_values),
        delimiter=args.delimiter,
        header=args.header,
        encoding=args.encoding,
        decimal=args.decimal,
        thousands=args.thousands,
        estimator_params=params,
        force=args.force,
        verbose=0 if args.quiet else 1,
        log=_logger(args.quiet),
    )
    if args.json:
        _print_json(result)
        return 0
    from .evaluation import format_metrics

    if result["metrics"] is not None:
        measured = f"held-out metrics on {result['held_out']}"
        if result["refit"]:
            before = result["metrics_train_rows"]
            measured += f", of the model trained on {before} rows before --refit"
        print(f"{measured}:")
        print("\n".join(format_metrics(result["metrics"])))
    if result["refit"]:
        trained = f"refit on all {result['rows']} rows"
    elif result["train_rows"] < result["rows"]:
        trained = f"trained on {result['train_rows']} of {result['rows']} rows"
    else:
        trained = f"trained on all {result['rows']} rows"
    print(
        f"model: {result['model']} ({result['task']} of {result['target']!r}, "
        f"{result['n_layers']} layer(s), {trained} in {result['fit_seconds']:.1f} s)"
    )
    if result["note"]:
        print(f"note: {result['note']}")
    return 0


def _run_predict(args) -> int:
    from .commands import predict

    if args.json and args.output is None:
        raise UserError("--json prints a summary on stdout, so it needs -o for the predictions")
    result = predict(
        args.model,
        args.data,
        args.output,
        proba=args.proba,
        id_column=args.id_column,
        force=args.force,
        strict=args.strict,
        chunk_size=args.chunk_size,
        delimiter=args.delimiter,
        header=args.header,
        encoding=args.encoding,
        log=_logger(args.quiet),
    )
    if args.json:
        _print_json(result)
    elif args.output is not None and not args.quiet:
        print(
            f"deepforest: wrote {result['rows']} predictions to {result['output']} in "
            f"{result['seconds']:.1f} s ({result['rows_per_second']:.0f} rows/s once loaded)",
            file=sys.stderr,
        )
    return 0


def _run_evaluate(args) -> int:
    from .commands import evaluate
    from .evaluation import format_metrics

    result = evaluate(
        args.model,
        args.data,
        strict=args.strict,
        chunk_size=args.chunk_size,
        delimiter=args.delimiter,
        header=args.header,
        encoding=args.encoding,
        log=_logger(args.quiet),
    )
    if args.json:
        _print_json(result)
        return 0
    print(f"metrics on {result['data']} ({result['metrics']['n_rows']} rows):")
    print("\n".join(format_metrics(result["metrics"])))
    return 0


def _run_info(args) -> int:
    from .evaluation import format_metrics
    from .model_file import info

    result = info(args.model, check=args.check)
    if args.json:
        _print_json(result)
        return 0
    schema, training, estimator = result["schema"], result["training"], result["estimator"]
    target = schema["target"]
    lines = [
        f"model file    {result['model']} ({result['model_bytes'] / 1e6:.1f} MB, format "
        f"{result['format_version']}, saved {result['saved_at']})",
        "types         "
        + (
            "all trusted (nothing in the file can run code when it loads)"
            if result["only_trusted_types"]
            else f"NOT TRUSTED: {', '.join(result['untrusted_types'])} (it will not load)"
        ),
        "parts         "
        + (
            "checked: they fit together"
            if result["checked"]
            else "not checked (info --check loads the model and checks them)"
        ),
        f"task          {target['task']} of {target['name']!r}"
        + (f", classes: {', '.join(map(str, target['classes']))}" if "classes" in target else ""),
        f"estimator     {estimator['class']}, kept {estimator['n_layers']} of "
        f"{len(estimator['history']['score'])} layers grown",
    ]
    history = estimator["history"]
    # Regression layers record their mean absolute error too (not in files of release 0.1).
    errors = history.get("mae", [None] * len(history["score"]))
    for index, (score, error, seconds) in enumerate(
        zip(history["score"], errors, history["fit_time"], strict=True)
    ):
        mae = "" if error is None else f", MAE {error:.4g}"
        lines.append(f"  layer {index}: out-of-sample score {score:.4f}{mae}, {seconds:.1f} s")
    stage = history.get("boosting")  # None: the model has no boosting stage
    if stage is not None:
        lines.append(_boosting_line(stage))
    refit = ", refit after measuring" if training["refit"] else ""
    lines.append(
        f"training      {training['data']}: {training['rows']} rows, {training['train_rows']} "
        f"used for fitting{refit} ({training['fit_seconds']:.1f} s); held out: "
        f"{training['held_out']}"
    )
    if result["metrics"] is not None:
        before = f" (of the model trained on {training.get('metrics_train_rows')} rows)"
        lines.append("held-out metrics" + (before if refit else ""))
        lines.extend(format_metrics(result["metrics"]))
    columns = schema["columns"]
    lines.append(f"columns       {len(columns)} features in this order:")
    width = max(len(column["name"]) for column in columns)
    importances = estimator.get("feature_importances", {})
    for column in columns:
        detail = f"{column['categories']} categories" if column["type"] == "categorical" else ""
        importance = importances.get(column["name"])
        lines.append(
            f"  {column['name']:<{width}}  {column['type']:<11}  {detail:<16}"
            f"missing in training: {column['missing_in_training']:<8}"
            + ("" if importance is None else f"importance: {importance:.3f}")
        )
    if schema["ignored_columns"]:
        lines.append(f"ignored       {', '.join(schema['ignored_columns'])}")
    lines.append(f"missing marks empty cells, NA, NaN, null, {', '.join(schema['na_values'])}")
    versions = ", ".join(f"{name} {version}" for name, version in result["versions"].items())
    lines.append(f"versions      {versions}")
    print("\n".join(lines))
    return 0


@contextlib.contextmanager
def _readable_twice(args):
    """Spool a data file that can be read only once (a pipe, ``<(cmd)``) to a temporary file.

    The commands read a data file twice, once to find its format and once to parse it; a pipe
    gives its data to the first read only, and looked empty to the second.
    """
    data = getattr(args, "data", None)
    if data is None:
        yield
        return
    try:
        mode = os.stat(data).st_mode
    except OSError:
        yield  # the command names the problem
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        yield
        return
    suffix = "".join(Path(data).suffixes[-2:])  # keeps .csv.gz: compression is read from it
    handle, name = tempfile.mkstemp(prefix="deepforest-input-", suffix=suffix)
    try:
        with os.fdopen(handle, "wb") as target, open(data, "rb") as source:
            shutil.copyfileobj(source, target)
        args.data = name
        yield
    finally:
        os.unlink(name)


COMMANDS = {
    "train": _run_train,
    "predict": _run_predict,
    "evaluate": _run_evaluate,
    "info": _run_info,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    previous_handlers = termination.install()
    try:
        if args.command == "demo":
            from .demo import run_demo  # imported here: the other commands need none of it

            run_demo(n_jobs=args.n_jobs, random_state=args.random_state)
            return 0
        with _readable_twice(args):
            return COMMANDS[args.command](args)
    except UserError as error:
        print(f"deepforest: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except termination.Terminated as stop:
        print("deepforest: terminated; no output was written", file=sys.stderr)
        return 128 + stop.signum
    except KeyboardInterrupt:
        print("deepforest: interrupted; no output was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout went away (`deepforest predict ... | head`): it read what it
        # wanted, which is no error, as for Unix tools.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except MemoryError:
        print("deepforest: error: out of memory (try a smaller --chunk-size)", file=sys.stderr)
        return EXIT_UNEXPECTED
    except Exception as error:
        if args.debug or os.environ.get("DEEPFOREST_DEBUG"):
            raise
        # Not a mistake in the user's files or options but a bug: its traceback is what a
        # report needs, so it is printed, with one line after it that says what happened.
        import traceback

        traceback.print_exc(file=sys.stderr)
        message = " ".join(str(error).split())
        print(
            f"deepforest: error: unexpected {type(error).__name__}: {message} "
            "(a bug in deepforest: please report it with the traceback above)",
            file=sys.stderr,
        )
        return EXIT_UNEXPECTED
    finally:
        termination.restore(previous_handlers)


if __name__ == "__main__":
    sys.exit(main())

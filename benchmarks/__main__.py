"""Command line of the benchmark suite: ``python -m benchmarks {run,depth,report} ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .harness.runner import SUITES, RunConfig, check_results, command_line, run_suite


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Deep forest against neural networks and gradient boosting.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run a suite of datasets x models")
    run.add_argument(
        "--suite",
        choices=sorted(SUITES),
        default="quick",
        help="quick: digits, LETTER, ADULT (CI smoke test); full: the five classic datasets "
        "(hours); panel: 24 real tables of both tasks against Deep-Forest 0.1.7, forests, "
        "four boosting libraries and an MLP (hours); tiny, tiny_regression: the tests' "
        "seconds-long harness checks",
    )
    _common(run)
    run.add_argument("--models", nargs="+", help="only these models (default: the suite's)")
    run.add_argument(
        "--seeds", type=int, help="seeds per stochastic model (default: the suite's, 3)"
    )
    run.add_argument(
        "--timeout", type=float, help="seconds per (dataset, model) before it counts as an error"
    )
    run.add_argument(
        "--check",
        action="store_true",
        help="exit 1 unless every model that ran has a sane mean score (accuracy above a "
        "floor; R² above 0 where the best model's is above 0.3)",
    )
    run.add_argument("--no-plots", action="store_true", help="skip the figures")

    depth = commands.add_parser(
        "depth",
        help="is depth what matters? cascade depth and "
        "width sweeps, MLP deep vs wide at equal parameters",
    )
    _common(depth)
    depth.add_argument(
        "--studies", nargs="+", choices=["depth", "width", "mlp"], default=["depth", "width", "mlp"]
    )
    depth.add_argument("--seeds", type=int, default=1, help="seeds per point (default 1)")

    stopping = commands.add_parser(
        "stopping",
        help="replay stopping and keep rules on cascades grown without early stopping",
    )
    _common(stopping)
    stopping.add_argument("--seeds", type=int, default=3)
    stopping.add_argument("--max-layers", type=int, default=8)
    stopping.add_argument(
        "--replay", action="store_true", help="only re-evaluate the records in --out"
    )
    stopping.add_argument(
        "--screening",
        action="store_true",
        help="compare confidence screening on and off instead (MNIST-10k and LETTER by default)",
    )

    peers = commands.add_parser(
        "peers", help="set up (or check) the environments of peers such as Deep-Forest 0.1.7"
    )
    peers.add_argument("action", choices=["setup", "status"], nargs="?", default="status")

    report = commands.add_parser("report", help="re-render a results directory")
    report.add_argument("directory", type=Path)
    report.add_argument(
        "--merge",
        nargs="+",
        type=Path,
        help="first combine these results directories into DIRECTORY (later ones win per "
        "dataset and model)",
    )
    report.add_argument("--no-plots", action="store_true")
    return parser


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        help="directory of letter.npz, adult.npz, mnist.npz "
        "(default: $DEEPFOREST_DATA_DIR, else ../shared/data)",
    )
    parser.add_argument("--out", help="results directory (default: benchmarks/results/NAME)")
    parser.add_argument("--datasets", nargs="+", help="only these datasets")
    parser.add_argument(
        "--threads", type=int, default=2, help="threads given to every model (default 2)"
    )
    parser.add_argument(
        "--offline", action="store_true", help="never try fetch_openml for absent files"
    )


def _verdict_section(report: str) -> str:
    """The report's verdict (its first section), else its first table."""
    sections = report.split("\n## ")
    for section in sections[1:]:
        if section.startswith("Verdict"):
            return "## " + section.strip()
    return report.split("\n\n")[1]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    if args.command == "stopping":
        from .harness.stopping import main as stopping_main

        args.out = args.out or "benchmarks/results/stopping"
        if args.screening and not args.datasets:
            args.datasets = ["mnist10k", "letter"]
        args.datasets = args.datasets or [
            "digits",
            "letter",
            "adult",
            "mnist10k",
            "titanic",
            "churn",
            "default",
            "health_insurance",
            "smoke_ban",
            "breast_cancer",
        ]
        return stopping_main(args)
    if args.command == "peers":
        from .harness.peers import main as peers_main

        return peers_main([args.action])
    if args.command == "report":
        from .harness.report import merge, render

        if args.merge:
            merge(args.directory, args.merge)

        if args.directory.joinpath("depth.json").exists():
            from .harness.depth import render_depth

            print(render_depth(args.directory, plots=not args.no_plots))
        if args.directory.joinpath("results.jsonl").exists():
            print(render(args.directory, plots=not args.no_plots))
        return 0
    if args.command == "depth":
        from .harness.depth import DepthConfig, run_depth_study

        out = args.out or "benchmarks/results/depth"
        config = DepthConfig(
            out=out,
            data_dir=args.data_dir,
            datasets=args.datasets or ["letter", "mnist"],
            studies=args.studies,
            seeds=args.seeds,
            threads=args.threads,
            allow_download=not args.offline,
            command=command_line(),
        )
        print(run_depth_study(config))
        return 0
    config = RunConfig(
        suite=args.suite,
        out=args.out or f"benchmarks/results/{args.suite}",
        data_dir=args.data_dir,
        seeds=args.seeds,
        datasets=args.datasets,
        models=args.models,
        threads=args.threads,
        timeout=args.timeout,
        allow_download=not args.offline,
        plots=not args.no_plots,
        command=command_line(),
    )
    out = run_suite(config)
    print(f"results in {out}: report.md, results.csv, summary.csv, results.json, figures/")
    print(_verdict_section((out / "report.md").read_text()))
    if args.check:
        problems = check_results(out)
        for problem in problems:
            print(f"check failed: {problem}", file=sys.stderr)
        if problems:
            return 1
        print("check passed: every model that ran has a sane score")
    return 0


if __name__ == "__main__":
    sys.exit(main())

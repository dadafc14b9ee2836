"""The ``deepforest`` command line: thin parsing and messages over the estimators."""

from __future__ import annotations

import argparse
import sys

from ._demo import run_demo


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="deepforest", description="Deep forest from the command line.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="train a cascade and a random forest on a built-in dataset")
    demo.add_argument("--n-jobs", type=int, default=-1)
    demo.add_argument("--random-state", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        run_demo(n_jobs=args.n_jobs, random_state=args.random_state)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m executor SOLVER.py``: one JSON string per stdin line in, one JSON object per line out."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict

from . import Limits, SandboxPool, SandboxUnavailableError, isolation_info
from .terminal import escape_controls

USAGE_ERROR = 2
UNAVAILABLE = 3


def _parser() -> argparse.ArgumentParser:
    defaults = Limits()
    parser = argparse.ArgumentParser(
        prog="python -m executor",
        description="Run the `solver` function of SOLVER.py in the sandbox on each input. Standard "
        "input holds one JSON string per line; standard output gets one JSON object per line: "
        '{"input", "output", "error", "detail"}.',
    )
    parser.add_argument("solver_file", metavar="SOLVER.py", nargs="?", help="source defining solver(x)")
    parser.add_argument(
        "--case-seconds",
        type=float,
        default=defaults.case_seconds,
        help="wall-clock limit per input (default %(default)s)",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=defaults.batch_seconds,
        help="wall-clock limit for all inputs (default %(default)s)",
    )
    parser.add_argument(
        "--cpu-seconds",
        type=int,
        default=defaults.cpu_seconds,
        help="CPU-time limit of the worker process (default %(default)s)",
    )
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=defaults.memory_mb,
        help="address-space limit of the worker process (default %(default)s)",
    )
    parser.add_argument(
        "--max-output-chars",
        type=int,
        default=defaults.max_output_chars,
        help="longest accepted output (default %(default)s)",
    )
    parser.add_argument(
        "--isolation",
        action="store_true",
        help="describe the isolation this machine allows, as JSON, and exit",
    )
    return parser


def _read_inputs(lines: list[str]) -> list[str]:
    inputs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:
            raise ValueError(f"stdin line {number} is not JSON: {exc}") from None
        if type(value) is not str:
            raise ValueError(f"stdin line {number} must be a JSON string, got {type(value).__name__}")
        inputs.append(value)
    return inputs


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.isolation:
        info = isolation_info()
        print(json.dumps({**asdict(info), "summary": info.describe()}))
        return 0
    if args.solver_file is None:
        parser.error("SOLVER.py is required")
    try:
        limits = Limits(
            args.case_seconds, args.batch_seconds, args.cpu_seconds, args.memory_mb, args.max_output_chars
        )
    except ValueError as exc:
        parser.error(str(exc))
    try:
        with open(args.solver_file, encoding="utf-8") as handle:
            source = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        print(
            f"python -m executor: cannot read {escape_controls(str(args.solver_file))}: {exc}",
            file=sys.stderr,
        )
        return USAGE_ERROR
    try:
        inputs = _read_inputs(sys.stdin.read().splitlines())
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"python -m executor: {exc}", file=sys.stderr)
        return USAGE_ERROR
    try:
        with SandboxPool(size=1, limits=limits) as pool:
            report = pool.run(source, inputs)
    except SandboxUnavailableError as exc:
        print(f"python -m executor: {exc}", file=sys.stderr)
        return UNAVAILABLE
    for result in report.results:
        print(json.dumps(asdict(result)))
    if report.verdict is not None:
        # the detail quotes the solver's own error messages: never let it drive the terminal
        print(f"verdict: {report.verdict}: {escape_controls(report.detail or '')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

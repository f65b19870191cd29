"""`python -m lab`: cases, prompt, run, list, show, export, delete."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence

from lab.modes import MODE_ORDER, ModeError
from lab.plan import DEFAULT_MODEL, ModelSpec, RunError, RunPlan, quick_plan, setting_cases
from lab.prompts import build_messages
from probes import ProbeError, get_family, parse_spec


class CliError(Exception):
    pass


class _Lazy:
    """The run commands need litellm and the executor; `cases` and `prompt` should start fast."""

    def __getattr__(self, name: str):
        from lab import study as module

        return getattr(module, name)


study = _Lazy()


def _settings(specs: Sequence[str]):
    out = []
    for spec in specs:
        out.extend(parse_spec(spec))
    return out


def cmd_cases(args: argparse.Namespace) -> int:
    for setting in _settings(args.probe):
        for case in get_family(setting.family).cases(setting, args.n, args.seed):
            record = {"input": case.input, "output": case.output}
            if len(args.probe) > 1 or len(parse_spec(args.probe[0])) > 1:
                record = {"setting": setting.spec, **record}
            print(json.dumps(record))
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    plan = RunPlan(
        models=(ModelSpec(DEFAULT_MODEL),),
        probes=tuple(args.probe),
        modes=(args.mode,),
        shots=args.shots,
        n=args.n,
        instances=args.instance + 1,
        seed=args.seed,
        cot=args.cot,
    )
    for setting in plan.settings():
        held_out, example_sets = setting_cases(plan, setting)
        if not 0 <= args.case < len(held_out):
            raise CliError(f"--case must be between 0 and {len(held_out) - 1}")
        examples = example_sets[args.instance] if args.mode in ("io", "io_rule", "solverlearner") else []
        messages = build_messages(setting, args.mode, examples, held_out[args.case].input, cot=args.cot)
        print(json.dumps({"setting": setting.spec, "mode": args.mode, "messages": messages}, indent=2))
    return 0


def _plan_from_args(args: argparse.Namespace) -> RunPlan:
    if not args.model and not args.probe:
        return quick_plan()
    models = tuple(ModelSpec(m, args.api_base, args.api_key_env) for m in (args.model or [DEFAULT_MODEL]))
    if not args.probe:
        raise CliError(
            "give at least one --probe (or neither --model nor --probe for the quick default study)"
        )
    return RunPlan(
        models=models,
        probes=tuple(args.probe),
        modes=tuple(args.mode.split(",")),
        shots=args.shots,
        n=args.n,
        instances=args.instances,
        seed=args.seed,
        temperature=args.temperature,
        max_tokens=args.max_tokens,
        cot=args.cot,
        concurrency=args.concurrency,
        max_failures=args.max_failures,
    )


def _progress_bar():
    from tqdm import tqdm

    bar = tqdm(total=0, unit="item", file=sys.stderr, dynamic_ncols=True)

    def update(p) -> None:
        bar.total = p.total
        bar.n = p.done
        bar.set_postfix(
            failures=p.failures,
            tokens=p.prompt_tokens + p.completion_tokens,
            cost=f"${p.cost:.4f}",
            refresh=False,
        )
        bar.refresh()

    return bar, update


def cmd_run(args: argparse.Namespace) -> int:
    # First, so a stop that arrives while the libraries load still ends the run cleanly.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    store = study.Store(args.db)
    if args.resume:
        run_id = args.resume
        if store.get_run(run_id) is None:
            raise CliError(f"no run {run_id!r} in {store.path}")
    else:
        run_id = study.prepare_run(store, _plan_from_args(args), args.run_id)
    bar, update = _progress_bar()
    print(f"run {run_id} (database {store.path})", file=sys.stderr)
    try:
        record = study.execute_run(store, run_id, progress=update, stop=stop)
    finally:
        bar.close()
    print(f"run_id: {run_id}")
    print(f"status: {record.status}" + (f" ({record.reason})" if record.reason else ""))
    summary = study.summary_frame(store, [run_id])
    if not summary.empty:
        print(study.format_summary(summary))
    if args.csv:
        study.export_items(store, [run_id], args.csv)
        print(f"items written to {args.csv}")
    return 0 if record.status == "finished" else 3


def cmd_list(args: argparse.Namespace) -> int:
    store = study.Store(args.db)
    table = study.runs_frame(store)
    print(table.to_string(index=False) if not table.empty else f"no runs in {store.path}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = study.Store(args.db)
    record = study.get_run(store, args.run)
    print(
        json.dumps(
            {
                "id": record.id,
                "status": study.effective_status(record),
                "reason": record.reason,
                "plan": record.plan,
                "versions": record.versions,
            },
            indent=2,
        )
    )
    summary = study.summary_frame(store, [record.id])
    if not summary.empty:
        print(study.format_summary(summary))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    store = study.Store(args.db)
    study.get_run(store, args.run)
    if args.summary:
        study.export_summary(store, [args.run], args.csv)
    else:
        study.export_items(store, [args.run], args.csv)
    print(f"written to {args.csv}")
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    store = study.Store(args.db)
    study.delete_run(store, args.run)
    print(f"deleted run {args.run}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lab", description="SolverLab: inductive vs deductive probes"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    def db_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--db", help="SQLite file (default: $SOLVERLAB_DB or the user data directory)")

    p = sub.add_parser("cases", help="print a probe's cases as JSON lines")
    p.add_argument("--probe", action="append", required=True, help="family or family:key=value,...")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=cmd_cases)

    p = sub.add_parser("prompt", help="print the exact messages a model would get")
    p.add_argument("--probe", action="append", required=True)
    p.add_argument("--mode", choices=MODE_ORDER, default="deductive")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--instance", type=int, default=0)
    p.add_argument("--case", type=int, default=0, help="which held-out case to ask about (direct modes)")
    p.add_argument("--cot", action="store_true", help="chain-of-thought wording for direct answers")
    p.set_defaults(func=cmd_prompt)

    p = sub.add_parser("run", help="run a study (no --model and no --probe: the quick default study)")
    p.add_argument("--model", action="append", help=f"litellm model string (default {DEFAULT_MODEL})")
    p.add_argument("--api-base", help="URL of an OpenAI-compatible server for the models")
    p.add_argument("--api-key-env", help="environment variable holding the key for --api-base")
    p.add_argument("--probe", action="append")
    p.add_argument("--mode", default="deductive,io_rule,io,solverlearner,deductive_code")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--instances", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--cot", action="store_true")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--max-failures", type=int, default=20, help="failed calls after which the run stops")
    p.add_argument("--run-id", help="name the run; an existing run with the same plan is resumed")
    p.add_argument("--resume", metavar="RUN_ID", help="finish a stopped, failed or killed run")
    p.add_argument("--csv", help="also write the items CSV here")
    db_option(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("list", help="list runs")
    db_option(p)
    p.set_defaults(func=cmd_list)

    for name, func, text in (
        ("show", cmd_show, "show a run's plan and summary"),
        ("delete", cmd_delete, "delete a run and its items"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("run")
        db_option(p)
        p.set_defaults(func=func)

    p = sub.add_parser("export", help="write a run's items (or summary) CSV")
    p.add_argument("run")
    p.add_argument("--csv", required=True)
    p.add_argument("--summary", action="store_true")
    db_option(p)
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except (CliError, ProbeError, ModeError, RunError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

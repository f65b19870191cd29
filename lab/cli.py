"""`python -m lab`: cases, prompt, run, list, show, export, report, delete, probes.

Every option has help text, and every command's `--help` ends with examples.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from lab import api

if TYPE_CHECKING:
    import pandas as pd


class CliError(Exception):
    pass


def _settings(specs: Sequence[str]) -> list[api.Setting]:
    return [setting for spec in specs for setting in api.parse_spec(spec)]


def cmd_cases(args: argparse.Namespace) -> int:
    settings = _settings(args.probe)
    for setting in settings:
        for case in api.held_out_cases(setting, n=args.n, seed=args.seed, cases_file=args.cases_file):
            record = {"input": case.input, "output": case.output}
            if len(settings) > 1:
                record = {"setting": setting.spec, **record}
            print(json.dumps(record))
    return 0


def cmd_prompt(args: argparse.Namespace) -> int:
    plan = api.RunPlan(
        models=(api.ModelSpec(api.DEFAULT_MODEL),),
        probes=tuple(args.probe),
        modes=(args.mode,),
        shots=args.shots,
        n=args.n,
        instances=args.instance + 1,
        seed=args.seed,
        cot=args.cot,
        cases_file=args.cases_file,
        check_file=args.check_file,
    )
    for unit in api.prompt_units(plan, instance=args.instance, case=args.case):
        print(
            json.dumps({"setting": unit.setting.spec, "mode": unit.mode, "messages": unit.messages}, indent=2)
        )
    return 0


def _plan_from_args(args: argparse.Namespace) -> api.RunPlan:
    if not args.model and not args.probe:
        return api.quick_plan()
    models = tuple(
        api.model_spec(name, api_base=",".join(args.api_base or []) or None, key_env=args.api_key_env)
        for name in (args.model or [api.DEFAULT_MODEL])
    )
    if not args.probe:
        raise CliError(
            "give at least one --probe (or neither --model nor --probe for the quick default study)"
        )
    return api.RunPlan(
        models=models,
        probes=tuple(args.probe),
        modes=tuple(args.mode.split(",")),
        shots=args.shots,
        n=args.n,
        instances=args.instances,
        seed=args.seed,
        temperature=api.default_temperature(args.samples) if args.temperature is None else args.temperature,
        max_tokens=args.max_tokens,
        cot=args.cot,
        concurrency=args.concurrency,
        max_failures=args.max_failures,
        samples=args.samples,
        rounds=args.rounds,
        cases_file=args.cases_file,
        check_file=args.check_file,
    )


def _progress_bar():
    from tqdm import tqdm

    interactive = sys.stderr.isatty()
    # In a log (no terminal) a line every 10 s, not one per item.
    bar = tqdm(
        total=0,
        unit="item",
        file=sys.stderr,
        dynamic_ncols=interactive,
        mininterval=0.2 if interactive else 10,
    )

    def update(p) -> None:
        bar.total = p.total
        bar.set_postfix(
            failures=p.failures,
            tokens=p.prompt_tokens + p.completion_tokens,
            cost=f"${p.cost:.4f}",
            refresh=False,
        )
        bar.update(p.done - bar.n)

    return bar, update


def cmd_run(args: argparse.Namespace) -> int:
    # First, so a stop that arrives while the libraries load still ends the run cleanly.
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    if args.dry_run:
        if args.resume:
            raise CliError("--dry-run estimates a new plan: leave out --resume")
        print(api.cost_estimate(_plan_from_args(args)))
        return 0
    store = api.Store(args.db)
    if args.resume:
        run_id = api.get_run(store, args.resume).id
    else:
        plan = _plan_from_args(args)
        api.check_models(plan)  # an unreachable model is refused before the run is stored
        run_id = api.prepare_run(store, plan, args.run_id)
    bar, update = _progress_bar()
    print(f"run {run_id} (database {store.path})", file=sys.stderr)
    try:
        record = api.execute_run(store, run_id, progress=update, stop=stop, max_cost=args.max_cost)
    finally:
        bar.close()
    print(f"run_id: {run_id}")
    print(f"status: {record.status}" + (f" ({record.reason})" if record.reason else ""))
    summary = api.summary_frame(store, [run_id])
    if not summary.empty:
        print(api.format_summary(summary))
    if args.csv:
        api.export_items(store, [run_id], args.csv)
        print(f"items written to {args.csv}")
    return 0 if record.status == "finished" else 3


LIST_WIDTH = 120
# `list` columns, in order; the text ones are shortened (with …) until a line fits LIST_WIDTH.
LIST_COLUMNS = ("run_id", "status", "created", "items", "accuracy", "models", "probes", "modes")
LIST_SHORTENED = ("models", "probes", "modes")


def list_lines(table: pd.DataFrame, width: int = LIST_WIDTH) -> list[str]:
    """The runs table as lines of at most `width` characters (`show RUN` has the rest, e.g. the reason)."""
    rows = [
        {
            **{name: str(row[name]) for name in LIST_COLUMNS},
            "accuracy": ""
            if row["accuracy"] is None or row["accuracy"] != row["accuracy"]  # None or NaN
            else f"{row['accuracy']:.1%}",
        }
        for _, row in table.iterrows()
    ]
    widths = {name: max([len(name)] + [len(r[name]) for r in rows]) for name in LIST_COLUMNS}
    while sum(widths.values()) + len(LIST_COLUMNS) - 1 > width:
        widest = max(LIST_SHORTENED, key=widths.__getitem__)
        if widths[widest] <= len(widest):
            break
        widths[widest] -= 1

    def line(values: dict[str, str]) -> str:
        cells = [_clip(values[name], widths[name]).ljust(widths[name]) for name in LIST_COLUMNS]
        return " ".join(cells).rstrip()

    return [line({name: name for name in LIST_COLUMNS}), *(line(r) for r in rows)]


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cmd_list(args: argparse.Namespace) -> int:
    store = api.Store(args.db)
    table = api.runs_frame(store)
    print("\n".join(list_lines(table)) if not table.empty else f"no runs in {store.path}")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    store = api.Store(args.db)
    record = api.get_run(store, args.run)
    print(
        json.dumps(
            {
                "id": record.id,
                "status": api.effective_status(record),
                "reason": record.reason,
                "plan": record.plan,
                "versions": record.versions,
            },
            indent=2,
        )
    )
    summary = api.summary_frame(store, [record.id])
    if not summary.empty:
        print(api.format_summary(summary))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    store = api.Store(args.db)
    api.get_run(store, args.run)
    if args.summary:
        api.export_summary(store, [args.run], args.csv)
    else:
        api.export_items(store, [args.run], args.csv)
    print(f"written to {args.csv}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    store = api.Store(args.db)
    for run_id in args.runs:
        api.get_run(store, run_id)  # a clear error for a run that does not exist, before any work
    page = api.report_html(store, args.runs).encode("utf-8")
    try:
        with open(args.html, "wb") as handle:
            handle.write(page)
    except OSError as exc:
        raise CliError(f"cannot write {args.html}: {exc}") from None
    print(
        f"report of {len(args.runs)} run(s) written to {args.html} ({len(page) / 1e6:.1f} MB); "
        "it opens offline"
    )
    return 0


def cmd_delete(args: argparse.Namespace) -> int:
    store = api.Store(args.db)
    api.delete_run(store, args.run)
    print(f"deleted run {args.run}")
    return 0


def cmd_probes_list(args: argparse.Namespace) -> int:
    print("built-in families (--probe NAME runs the standard settings; NAME:key=value,... one setting):")
    for family in api.probe_families(built_in_only=True):
        name = family.name
        print(f"  {name}: {family.description}")
        for setting in family.standard_settings():
            print(f"    {setting.spec}" + ("  (default world)" if setting.default_world else ""))
        for parameter in family.parameters:
            named = all(str(choice) in parameter.description for choice in parameter.choices)
            values = "" if named else f"; any of {parameter.describe_choices()}"
            print(f"    {parameter.name}: {parameter.description}{values}")
    store = api.Store(args.db)
    saved = api.saved_probes(store)
    if not saved:
        print(f"no custom probes in {store.path} (add one: python -m lab probes import FILE.json)")
        return 0
    print(f"custom probes in {store.path}:")
    for compiled in saved:
        probe = compiled.probe
        print(f"  {probe.name}: {probe.description} ({len(compiled.pool)} inputs, {probe.generator.kind})")
        print(f"    {probe.spec}" + ("  (default world)" if probe.world == "familiar" else ""))
    return 0


def cmd_probes_import(args: argparse.Namespace) -> int:
    try:
        with open(args.file, encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {args.file}: {exc}") from None
    compiled = api.import_probe(api.Store(args.db), text)
    name = compiled.probe.name
    print(f"saved custom probe {name} ({len(compiled.pool)} inputs); run it with --probe {name}")
    return 0


def cmd_probes_export(args: argparse.Namespace) -> int:
    text = api.export_probe(api.Store(args.db), args.name)
    try:
        with open(args.file, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise CliError(f"cannot write {args.file}: {exc}") from None
    print(f"written to {args.file}")
    return 0


def cmd_probes_delete(args: argparse.Namespace) -> int:
    api.delete_probe(api.Store(args.db), args.name)
    print(f"deleted custom probe {args.name} (items of runs that used it are kept)")
    return 0


PROBE_HELP = (
    "a family (runs its standard settings) or family:key=value,... (one setting); repeat for more; "
    "`python -m lab probes list` shows them"
)
# Every command's examples, shown at the end of its --help; together they use every option.
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": ("cases --probe arithmetic:base=8 --n 5", "run", "list", "report RUN_ID --html report.html"),
    "cases": (
        "cases --probe arithmetic:base=8 --n 5",
        "cases --probe syntax --seed 3 --db runs.db",
        "cases --probe arithmetic:base=9 --cases-file data/0shot/base{base}.txt",
    ),
    "prompt": (
        "prompt --probe arithmetic:base=8 --mode solverlearner --shots 4",
        "prompt --probe syntax:order=sov --mode deductive --case 3 --cot",
        "prompt --probe arithmetic:base=9 --mode ccc --check-file data/ccc/base{base}.txt",
        "prompt --probe cipher --mode io --instance 1 --n 10 --seed 2 --db runs.db",
        "prompt --probe arithmetic:base=9 --cases-file data/0shot/base{base}.txt --case 4",
    ),
    "run": (
        "run",
        "run --probe arithmetic:base=8 --probe arithmetic:base=10 --mode deductive,solverlearner --n 10",
        "run --model openai/gpt-4o-mini --api-key-env OPENAI_API_KEY --probe syntax --shots 4 --instances 2",
        "run --model openai/qwen --api-base http://127.0.0.1:8080/v1 --probe cipher --concurrency 2",
        "run --model qwen@concurrency=16,rpm=600 --api-base http://a:8000/v1,http://b:8000/v1 --probe syntax",
        "run --model openai/gpt-4o-mini --probe arithmetic --dry-run",
        "run --model openai/gpt-4o-mini --probe arithmetic --max-cost 2.50",
        "run --model replay/items.csv --probe arithmetic --mode deductive",
        "run --probe arithmetic --mode solverlearner --samples 5 --rounds 2 --temperature 0.7 --seed 1",
        "run --probe arithmetic --max-tokens 512 --cot --max-failures 5 --run-id base8-study --csv items.csv",
        "run --probe arithmetic:base=9 --cases-file data/0shot/base{base}.txt",
        "run --probe arithmetic:base=9 --mode ccc --check-file data/ccc/base{base}.txt",
        "run --resume 20261130-141937-6cf752 --db runs.db",
    ),
    "list": ("list", "list --db runs.db"),
    "show": ("show 20261130-141937-6cf752", "show base8-study --db runs.db"),
    "delete": ("delete 20261130-141937-6cf752", "delete base8-study --db runs.db"),
    "export": (
        "export base8-study --csv items.csv",
        "export base8-study --csv summary.csv --summary --db runs.db",
    ),
    "report": (
        "report base8-study --html report.html",
        "report base8-study base9-study --html both.html --db runs.db",
    ),
    "probes": ("probes list", "probes import my_probe.json"),
    "probes list": ("probes list", "probes list --db runs.db"),
    "probes import": ("probes import my_probe.json", "probes import my_probe.json --db runs.db"),
    "probes export": (
        "probes export my_probe my_probe.json",
        "probes export my_probe my_probe.json --db runs.db",
    ),
    "probes delete": ("probes delete my_probe", "probes delete my_probe --db runs.db"),
}


def _command(sub: argparse._SubParsersAction, name: str, text: str) -> argparse.ArgumentParser:
    """A command whose --help starts with `text` and ends with its examples (`EXAMPLES`)."""
    full = f"{sub.dest.removesuffix('command').replace('_', ' ')}{name}".strip()
    return sub.add_parser(
        name,
        help=text,
        description=text,
        epilog=_examples(full),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _examples(command: str) -> str:
    return "examples:\n" + "\n".join(f"  python -m lab {line}" for line in EXAMPLES[command])


def _cases_file_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cases-file",
        metavar="PATH",
        help="held-out inputs, one a line, instead of generated ones; {param} is filled from each "
        "setting, e.g. counterfactual-evaluation/arithmetic/data/0shot/base{base}.txt",
    )


def _check_file_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--check-file",
        metavar="PATH",
        help="the ccc mode's inputs, one a line, instead of generated ones; {param} as for --cases-file, "
        "e.g. counterfactual-evaluation/arithmetic/data/ccc/base{base}.txt",
    )


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--db", metavar="PATH", help="SQLite file (default: $SOLVERLAB_DB or the user data directory)"
    )


def _number(p: argparse.ArgumentParser, name: str, default: int, metavar: str, text: str) -> None:
    p.add_argument(name, type=int, default=default, metavar=metavar, help=f"{text} (default {default})")


def _probe_options(p: argparse.ArgumentParser, *, n_help: str, required: bool) -> None:
    """--probe, --n and --seed: which settings and which held-out cases."""
    p.add_argument("--probe", action="append", required=required, metavar="SPEC", help=PROBE_HELP)
    _number(p, "--n", 20, "N", n_help)
    _number(p, "--seed", 0, "S", "seed drawing the cases and examples")


def _add_case_commands(sub: argparse._SubParsersAction) -> None:
    """`cases` and `prompt`: what a probe asks, without calling any model."""
    p = _command(sub, "cases", "print a probe's held-out cases as JSON lines (input and expected output)")
    _probe_options(p, n_help="held-out cases per setting", required=True)
    _cases_file_option(p)
    _db_option(p)
    p.set_defaults(func=cmd_cases)

    p = _command(sub, "prompt", "print the exact messages a model would get, without calling it")
    _probe_options(p, n_help="held-out cases per setting", required=True)
    p.add_argument(
        "--mode",
        choices=api.MODE_ORDER,
        default="deductive",
        help="how the model is asked: the rule (deductive), examples (io, io_rule), a function to write "
        "(solverlearner, deductive_code) or the comprehension check (ccc); default deductive",
    )
    _number(p, "--shots", 8, "K", "input -> output examples shown")
    _number(p, "--instance", 0, "I", "which instance (each has its own examples)")
    _number(p, "--case", 0, "C", "which held-out case to ask about (direct modes)")
    p.add_argument("--cot", action="store_true", help="chain-of-thought wording for direct answers")
    _cases_file_option(p)
    _check_file_option(p)
    _db_option(p)
    p.set_defaults(func=cmd_prompt)


def _add_run_command(sub: argparse._SubParsersAction) -> None:
    """`run`: a new study, or the rest of a stopped one (`--resume`)."""
    p = _command(
        sub, "run", "run a study (no --model and no --probe: the quick default study on the embedded model)"
    )
    p.add_argument(
        "--model",
        action="append",
        metavar="MODEL",
        help=f"litellm model string (default {api.DEFAULT_MODEL}), or replay/PATH to answer from "
        "recordings; repeat for several models; NAME@concurrency=N,rpm=R gives a model its own limits",
    )
    p.add_argument(
        "--api-base",
        action="append",
        metavar="URL",
        help="URL of an OpenAI-compatible server for the models; repeat it (or separate URLs by commas) "
        "for replicas of one model",
    )
    p.add_argument(
        "--api-key-env", metavar="VAR", help="environment variable holding the key (never the key itself)"
    )
    _probe_options(p, n_help="held-out cases scored per setting and instance", required=False)
    p.add_argument(
        "--mode",
        default="deductive,io_rule,io,solverlearner,deductive_code",
        metavar="MODES",
        help=f"comma-separated modes, of {', '.join(api.MODE_ORDER)} "
        "(default deductive,io_rule,io,solverlearner,deductive_code)",
    )
    _number(p, "--shots", 8, "K", "input -> output examples per prompt")
    _number(p, "--instances", 3, "I", "instances per setting and mode, each with its own examples")
    p.add_argument(
        "--temperature",
        type=float,
        metavar="T",
        help="sampling temperature (default 0, or 0.7 with --samples above 1)",
    )
    _number(
        p,
        "--samples",
        1,
        "S",
        "code modes: candidate functions per instance; the best fit on the examples counts",
    )
    _number(
        p, "--rounds", 0, "R", "code modes: rounds of correction when the chosen function fails an example"
    )
    _number(p, "--max-tokens", 1024, "N", "longest reply, in tokens")
    p.add_argument("--cot", action="store_true", help="chain-of-thought wording for direct answers")
    _number(p, "--concurrency", 8, "N", "model calls in flight at once")
    _number(p, "--max-failures", 20, "N", "failed calls after which the run stops")
    p.add_argument(
        "--run-id", metavar="ID", help="name the run; an existing run with the same plan is resumed"
    )
    p.add_argument(
        "--max-cost", type=float, metavar="USD", help="stop cleanly before the run's cost passes this"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the calls, tokens and cost per model; store nothing"
    )
    p.add_argument("--resume", metavar="RUN_ID", help="finish a stopped, failed or killed run")
    p.add_argument("--csv", metavar="PATH", help="also write the items CSV here")
    _cases_file_option(p)
    _check_file_option(p)
    _db_option(p)
    p.set_defaults(func=cmd_run)


def _add_stored_run_commands(sub: argparse._SubParsersAction) -> None:
    """`list`, `show`, `delete`, `export`, `report`: the runs in the store."""
    p = _command(sub, "list", f"list runs, one a line of at most {LIST_WIDTH} characters")
    _db_option(p)
    p.set_defaults(func=cmd_list)
    for name, func, text in (
        ("show", cmd_show, "show a run's plan, status, reason and summary"),
        ("delete", cmd_delete, "delete a run and its items"),
        ("export", cmd_export, "write a run's items (or summary) CSV"),
    ):
        p = _command(sub, name, text)
        p.add_argument("run", metavar="RUN_ID", help="the run's id, as `python -m lab list` shows it")
        _db_option(p)
        p.set_defaults(func=func)
    p.add_argument("--csv", required=True, metavar="PATH", help="the CSV file to write")
    p.add_argument(
        "--summary", action="store_true", help="the summary (accuracy per setting) instead of items"
    )

    p = _command(
        sub,
        "report",
        "write one self-contained HTML report of runs: summary matrix, charts and every item with its "
        "reply and code, searchable; it opens with no network",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_ID", help="the runs to report, as `list` shows them")
    p.add_argument("--html", required=True, metavar="PATH", help="the HTML file to write")
    _db_option(p)
    p.set_defaults(func=cmd_report)


def _add_probes_commands(sub: argparse._SubParsersAction) -> None:
    """`probes list | import | export | delete`: the families, and custom probes."""
    p = _command(sub, "probes", "list probe families; import, export or delete custom probes")
    probes_sub = p.add_subparsers(dest="probes_command", required=True, metavar="COMMAND")
    q = _command(probes_sub, "list", "the built-in families' standard settings, and custom probes")
    q.set_defaults(func=cmd_probes_list)
    q = _command(probes_sub, "import", "compile a custom probe's JSON file in the sandbox and save it")
    q.add_argument("file", metavar="FILE", help="the probe's JSON file (as `probes export` writes it)")
    q.set_defaults(func=cmd_probes_import)
    q = _command(probes_sub, "export", "write a saved custom probe as a JSON file")
    q.add_argument("name", metavar="NAME", help="the custom probe's name")
    q.add_argument("file", metavar="FILE", help="the JSON file to write")
    q.set_defaults(func=cmd_probes_export)
    q = _command(probes_sub, "delete", "delete a saved custom probe")
    q.add_argument("name", metavar="NAME", help="the custom probe's name")
    q.set_defaults(func=cmd_probes_delete)
    for q in probes_sub.choices.values():
        _db_option(q)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lab",
        description="SolverLab: inductive vs deductive probes. `python -m lab COMMAND --help` explains a "
        "command, with examples.",
        epilog=_examples(""),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_case_commands(sub)
    _add_run_command(sub)
    _add_stored_run_commands(sub)
    _add_probes_commands(sub)
    return parser


def _install_custom_probes(args: argparse.Namespace) -> None:
    """Saved custom probes become families before any probe spec is read."""
    path = args.db or api.default_db_path()
    if not os.path.exists(path):  # nothing saved; do not create a database just to look
        return
    store = api.Store(path)
    try:
        for problem in api.install_saved_probes(store):
            print(f"warning: {problem}", file=sys.stderr)
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "db"):
            _install_custom_probes(args)
        return int(args.func(args))
    except (CliError, api.ProbeError, api.ModeError, api.RunError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

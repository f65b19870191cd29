"""`python -m lab`: cases, prompt, run, list, show, export, delete, probes, presets."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Sequence

from lab import api

DEFAULT_RUN_MODES = "deductive,io_rule,io,solverlearner,deductive_code"


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
        framing=args.framing,
        cases_file=args.cases_file,
        check_file=args.check_file,
    )
    for unit in api.prompt_units(plan, instance=args.instance, case=args.case):
        print(
            json.dumps({"setting": unit.setting.spec, "mode": unit.mode, "messages": unit.messages}, indent=2)
        )
    return 0


def _models_from_args(args: argparse.Namespace) -> tuple[api.ModelSpec, ...]:
    return tuple(
        api.model_spec(name, api_base=args.api_base, key_env=args.api_key_env)
        for name in (args.model or [api.DEFAULT_MODEL])
    )


def _plans_from_args(args: argparse.Namespace) -> list[api.PresetPlan]:
    """The runs to make: one per entry of `--preset`, else the one the options describe."""
    if args.preset is None:
        return [api.PresetPlan(label="", plan=_plan_from_args(args))]
    given = [name for name, value in (("--probe", args.probe), ("--mode", args.mode)) if value]
    given += [
        name
        for name, value in (("--cases-file", args.cases_file), ("--check-file", args.check_file))
        if value
    ]
    if given:
        raise CliError(
            f"--preset {args.preset} sets the probes, modes and files itself; leave out {', '.join(given)}"
        )
    return api.preset_plans(
        args.preset,
        models=_models_from_args(args) if args.model else (),
        seed=args.seed,
        max_tokens=args.max_tokens,
        concurrency=args.concurrency,
        max_failures=args.max_failures,
    )


def _plan_from_args(args: argparse.Namespace) -> api.RunPlan:
    if not args.model and not args.probe:
        return api.quick_plan()
    models = _models_from_args(args)
    if not args.probe:
        raise CliError(
            "give at least one --probe (or neither --model nor --probe for the quick default study)"
        )
    return api.RunPlan(
        models=models,
        probes=tuple(args.probe),
        modes=tuple((args.mode or DEFAULT_RUN_MODES).split(",")),
        shots=args.shots,
        n=args.n,
        instances=args.instances,
        seed=args.seed,
        temperature=api.default_temperature(args.samples) if args.temperature is None else args.temperature,
        max_tokens=args.max_tokens,
        cot=args.cot,
        framing=args.framing,
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
    store = api.Store(args.db)
    if args.resume:
        run_ids = [api.get_run(store, args.resume).id]
    else:
        planned = _plans_from_args(args)
        if len(planned) > 1 and args.run_id:
            raise CliError(f"--run-id names one run; preset {args.preset} makes {len(planned)}")
        run_ids = [api.prepare_run(store, entry.plan, args.run_id) for entry in planned]
    succeeded = True
    for run_id in run_ids:
        if stop.is_set():
            break
        succeeded = _execute(store, run_id, stop) and succeeded
    if args.csv:
        api.export_items(store, run_ids, args.csv)
        print(f"items written to {args.csv}")
    return 0 if succeeded and not stop.is_set() else 3


def _execute(store: api.Store, run_id: str, stop: threading.Event) -> bool:
    """Run one stored run here and print its status and summary; whether it gave a result."""
    bar, update = _progress_bar()
    print(f"run {run_id} (database {store.path})", file=sys.stderr)
    try:
        record = api.execute_run(store, run_id, progress=update, stop=stop)
    finally:
        bar.close()
    print(f"run_id: {run_id}")
    framing = record.plan.get("framing", api.Framing.BLIND.value)
    print(f"framing: {framing}")
    if record.status == "finished" and record.reason:
        print(f"status: finished, but NOT a result: {record.reason}")
    else:
        print(f"status: {record.status}" + (f" ({record.reason})" if record.reason else ""))
    summary = api.summary_frame(store, [run_id])
    if not summary.empty:
        print(api.format_summary(summary))
    return api.run_succeeded(record)


def cmd_presets(args: argparse.Namespace) -> int:
    for preset in api.list_presets():
        print(f"{preset.name}: {preset.description}")
        print(f"    reproduces: {preset.reproduces}")
        for run in preset.runs:
            models = f"{len(run.models)} recorded model(s)" if run.models else "your --model"
            print(f"    run {run.label!r}: {', '.join(run.modes)} on {', '.join(run.probes)}, {models}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    store = api.Store(args.db)
    table = api.runs_frame(store)
    print(table.to_string(index=False) if not table.empty else f"no runs in {store.path}")
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


def _cases_file_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cases-file",
        help="held-out inputs, one a line (or FILE.csv#COLUMN: a column of a CSV file with a header), "
        "instead of generated ones; {param} is filled from each setting, e.g. "
        "counterfactual-evaluation/arithmetic/data/0shot/base{base}.txt",
    )


def _check_file_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--check-file",
        help="the ccc mode's inputs, one a line, instead of generated ones; {param} as for --cases-file, "
        "e.g. counterfactual-evaluation/arithmetic/data/ccc/base{base}.txt",
    )


def _framing_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--framing",
        choices=[framing.value for framing in api.Framing],
        default=api.Framing.PAPER.value,
        help="wording of the modes that show examples: paper (Cheng et al. 2024: the task stated, the "
        "rule withheld) or blind (outputs of a hidden rule; the model must also find the task)",
    )


def _db_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", help="SQLite file (default: $SOLVERLAB_DB or the user data directory)")


def _add_case_commands(sub: argparse._SubParsersAction) -> None:
    """`cases` and `prompt`: what a probe asks, without calling any model."""
    p = sub.add_parser("cases", help="print a probe's cases as JSON lines")
    p.add_argument("--probe", action="append", required=True, help="family or family:key=value,...")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    _cases_file_option(p)
    _db_option(p)
    p.set_defaults(func=cmd_cases)

    p = sub.add_parser("prompt", help="print the exact messages a model would get")
    p.add_argument("--probe", action="append", required=True)
    p.add_argument("--mode", choices=api.MODE_ORDER, default="deductive")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--instance", type=int, default=0)
    p.add_argument("--case", type=int, default=0, help="which held-out case to ask about (direct modes)")
    p.add_argument("--cot", action="store_true", help="chain-of-thought wording for direct answers")
    _framing_option(p)
    _cases_file_option(p)
    _check_file_option(p)
    _db_option(p)
    p.set_defaults(func=cmd_prompt)


def _add_run_command(sub: argparse._SubParsersAction) -> None:
    """`run`: a new study, or the rest of a stopped one (`--resume`)."""
    p = sub.add_parser("run", help="run a study (no --model and no --probe: the quick default study)")
    p.add_argument(
        "--model",
        action="append",
        help=f"litellm model string (default {api.DEFAULT_MODEL}), or replay/PATH to answer from recordings",
    )
    p.add_argument("--api-base", help="URL of an OpenAI-compatible server for the models")
    p.add_argument("--api-key-env", help="environment variable holding the key for --api-base")
    p.add_argument("--probe", action="append")
    p.add_argument("--mode", help=f"modes, comma separated (default {DEFAULT_RUN_MODES})")
    p.add_argument("--shots", type=int, default=8)
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--instances", type=int, default=3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--temperature", type=float, help="sampling temperature (default 0, or 0.7 with --samples above 1)"
    )
    p.add_argument(
        "--samples",
        type=int,
        default=1,
        help="code modes: candidate functions per instance; the best fit on the shown examples is scored",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=0,
        help="code modes: rounds of correction when the chosen function fails a shown example",
    )
    p.add_argument("--max-tokens", type=int, default=1024)
    p.add_argument("--cot", action="store_true")
    _framing_option(p)
    p.add_argument(
        "--preset",
        help="a published set-up (python -m lab presets lists them): each of its runs is run; "
        "runs without recorded models use --model",
    )
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--max-failures", type=int, default=20, help="failed calls after which the run stops")
    p.add_argument("--run-id", help="name the run; an existing run with the same plan is resumed")
    p.add_argument("--resume", metavar="RUN_ID", help="finish a stopped, failed or killed run")
    p.add_argument("--csv", help="also write the items CSV here")
    _cases_file_option(p)
    _check_file_option(p)
    _db_option(p)
    p.set_defaults(func=cmd_run)


def _add_stored_run_commands(sub: argparse._SubParsersAction) -> None:
    """`list`, `show`, `delete`, `export`: the runs in the store."""
    p = sub.add_parser("list", help="list runs")
    _db_option(p)
    p.set_defaults(func=cmd_list)

    for name, func, text in (
        ("show", cmd_show, "show a run's plan and summary"),
        ("delete", cmd_delete, "delete a run and its items"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("run")
        _db_option(p)
        p.set_defaults(func=func)

    p = sub.add_parser("export", help="write a run's items (or summary) CSV")
    p.add_argument("run")
    p.add_argument("--csv", required=True)
    p.add_argument("--summary", action="store_true")
    _db_option(p)
    p.set_defaults(func=cmd_export)


def _add_probes_commands(sub: argparse._SubParsersAction) -> None:
    """`probes list | import | export | delete`: the families, and custom probes."""
    p = sub.add_parser("probes", help="list probe families; import, export or delete custom probes")
    probes_sub = p.add_subparsers(dest="probes_command", required=True)
    q = probes_sub.add_parser("list", help="the built-in families' standard settings, and custom probes")
    _db_option(q)
    q.set_defaults(func=cmd_probes_list)
    q = probes_sub.add_parser("import", help="compile a custom probe's JSON file in the sandbox and save it")
    q.add_argument("file")
    _db_option(q)
    q.set_defaults(func=cmd_probes_import)
    q = probes_sub.add_parser("export", help="write a saved custom probe as a JSON file")
    q.add_argument("name")
    q.add_argument("file")
    _db_option(q)
    q.set_defaults(func=cmd_probes_export)
    q = probes_sub.add_parser("delete", help="delete a saved custom probe")
    q.add_argument("name")
    _db_option(q)
    q.set_defaults(func=cmd_probes_delete)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lab", description="SolverLab: inductive vs deductive probes"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _add_case_commands(sub)
    _add_run_command(sub)
    _add_stored_run_commands(sub)
    _add_probes_commands(sub)
    p = sub.add_parser("presets", help="list the study presets (python -m lab run --preset NAME)")
    p.set_defaults(func=cmd_presets)
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

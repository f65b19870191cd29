"""`python -m lab`: cases, prompt, run, list, show, export, report, delete, probes, presets.

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
from lab.cli_parser import DEFAULT_RUN_MODES, LIST_WIDTH, build_parser

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
        framing=args.framing,
        cases_file=args.cases_file,
        check_file=args.check_file,
        check_n=args.check_n,
    )
    for unit in api.prompt_units(plan, instance=args.instance, case=args.case):
        print(
            json.dumps({"setting": unit.setting.spec, "mode": unit.mode, "messages": unit.messages}, indent=2)
        )
    return 0


def _models_from_args(args: argparse.Namespace) -> tuple[api.ModelSpec, ...]:
    return tuple(
        api.model_spec(name, api_base=",".join(args.api_base or []) or None, key_env=args.api_key_env)
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
        noise=args.noise,
        identifiable=args.identifiable,
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
        queries=args.queries,
        submissions=args.submissions,
        cases_file=args.cases_file,
        check_file=args.check_file,
        check_n=args.check_n,
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
    if args.batch and args.max_cost is not None:
        raise CliError(
            "--max-cost stops calls as they are made, but a batch is priced only when it ends: leave out "
            "one of them (--dry-run estimates the cost first)"
        )
    if args.dry_run:
        if args.resume:
            raise CliError("--dry-run estimates a new plan: leave out --resume")
        print(api.cost_estimate(_plan_from_args(args)))
        return 0
    store = api.Store(args.db)
    if args.resume:
        run_ids = [api.get_run(store, args.resume).id]
        if args.name is not None:
            api.rename_run(store, args.resume, args.name)
    else:
        planned = _plans_from_args(args)
        if len(planned) > 1 and args.run_id:
            raise CliError(f"--run-id names one run; preset {args.preset} makes {len(planned)}")
        for entry in planned:
            if args.batch:
                _refuse_unbatchable(entry.plan)
            api.check_cost_cap(entry.plan, args.max_cost)
            api.check_models(entry.plan)  # an unreachable model is refused before any run is stored
        run_ids = [
            api.prepare_run(store, entry.plan, args.run_id, name=_run_name(args.name, entry.label))
            for entry in planned
        ]
    succeeded = True
    for run_id in run_ids:
        if stop.is_set():
            break
        batch = api.BatchOptions(submit=args.batch, poll=args.poll, notify=_notify)
        succeeded = _execute(store, run_id, stop, max_cost=args.max_cost, batch=batch) and succeeded
    if args.csv:
        api.export_items(store, run_ids, args.csv)
        print(f"items written to {args.csv}")
    return 0 if succeeded and not stop.is_set() else 3


def _run_name(name: str | None, preset_label: str) -> str | None:
    """`--name`, or for each run of a preset `NAME - its label`."""
    if name is None or not preset_label:
        return name
    return f"{name} - {preset_label}"


def _refuse_unbatchable(plan: api.RunPlan) -> None:
    reasons = [reason for model in plan.models if (reason := api.batch_unsupported(model))]
    if reasons:
        raise CliError("; ".join(reasons))


def _notify(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _execute(
    store: api.Store,
    run_id: str,
    stop: threading.Event,
    *,
    max_cost: float | None,
    batch: api.BatchOptions,
) -> bool:
    """Run one stored run here and print its status and summary; whether it gave a result."""
    bar, update = _progress_bar()
    print(f"run {run_id} (database {store.path})", file=sys.stderr)
    try:
        record = api.execute_run(store, run_id, progress=update, stop=stop, max_cost=max_cost, batch=batch)
    finally:
        bar.close()
    print(f"run_id: {run_id}")
    framing = record.plan.get("framing", api.Framing.BLIND.value)
    print(f"framing: {framing}")
    if record.status == "finished" and record.reason:
        print(f"status: finished, but NOT a result: {api.terminal_text(record.reason)}")
    else:
        print(
            f"status: {record.status}" + (f" ({api.terminal_text(record.reason)})" if record.reason else "")
        )
    summary = api.summary_frame(store, [run_id])
    if not summary.empty:
        print(api.format_summary(summary))
    smoke_test = api.smoke_test_note(api.RunPlan.from_dict(record.plan))
    if smoke_test:
        print(smoke_test)
    return api.run_succeeded(record)


def cmd_presets(args: argparse.Namespace) -> int:
    for preset in api.list_presets():
        print(f"{preset.name}: {preset.description}")
        print(f"    reproduces: {preset.reproduces}")
        for run in preset.runs:
            models = f"{len(run.models)} recorded model(s)" if run.models else "your --model"
            print(f"    run {run.label!r}: {', '.join(run.modes)} on {', '.join(run.probes)}, {models}")
    return 0


# `list` columns, in order; the text ones are shortened (with …) until a line fits LIST_WIDTH.
LIST_COLUMNS = ("run_id", "label", "status", "created", "items", "accuracy", "probes", "modes")
LIST_SHORTENED = ("label", "probes", "modes")
LIST_KEPT = 12


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
        # The label gives way last: probes and modes shrink to LIST_KEPT characters first.
        shrinkable = [name for name in LIST_SHORTENED[1:] if widths[name] > LIST_KEPT] or LIST_SHORTENED
        widest = max(shrinkable, key=widths.__getitem__)
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
                "name": record.name,
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
    if not (args.csv or args.parquet):
        raise CliError("say where to write: --csv PATH, --parquet PATH, or both")
    if args.summary and args.parquet:
        raise CliError("--parquet writes items; the summary is written as CSV (--summary --csv PATH)")
    store = api.Store(args.db)
    for run_id in args.runs:
        api.get_run(store, run_id)  # a clear error for a run that does not exist, before any file
    if args.csv:
        (api.export_summary if args.summary else api.export_items)(store, args.runs, args.csv)
        print(f"written to {args.csv}")
    if args.parquet:
        api.export_parquet(store, args.runs, args.parquet)
        print(f"written to {args.parquet}")
    return 0


def cmd_rename(args: argparse.Namespace) -> int:
    name = api.rename_run(api.Store(args.db), args.run, args.name)
    print(f"run {args.run} named {name!r}" if name else f"run {args.run} has no name now")
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
        print(
            f"  {probe.name}: {api.terminal_text(probe.description)} "
            f"({len(compiled.pool)} inputs, {probe.generator.kind})"
        )
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


COMMANDS = {
    "cases": cmd_cases,
    "delete": cmd_delete,
    "export": cmd_export,
    "list": cmd_list,
    "presets": cmd_presets,
    "probes_delete": cmd_probes_delete,
    "probes_export": cmd_probes_export,
    "probes_import": cmd_probes_import,
    "probes_list": cmd_probes_list,
    "prompt": cmd_prompt,
    "rename": cmd_rename,
    "report": cmd_report,
    "run": cmd_run,
    "show": cmd_show,
}


def _install_custom_probes(args: argparse.Namespace) -> None:
    """Saved custom probes become families before any probe spec is read."""
    path = args.db or api.default_db_path()
    if not os.path.exists(path):  # nothing saved; do not create a database just to look
        return
    store = api.Store(path)
    try:
        for problem in api.install_saved_probes(store):
            print(f"warning: {api.terminal_text(problem)}", file=sys.stderr)
    finally:
        store.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if hasattr(args, "db"):
            _install_custom_probes(args)
        return int(COMMANDS[args.command_name](args))
    except (CliError, api.ProbeError, api.ModeError, api.RunError, ValueError) as exc:
        print(f"error: {api.terminal_text(exc)}", file=sys.stderr)
        return 2

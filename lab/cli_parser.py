"""The argument parser of `python -m lab`: every option with its help, every command with examples.

Each command's parser sets `command_name`; `lab.cli` runs the command of that name.
"""

from __future__ import annotations

import argparse

from lab import api

DEFAULT_RUN_MODES = "deductive,io_rule,io,solverlearner,deductive_code"
LIST_WIDTH = 120

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
        "prompt --probe arithmetic:base=8 --mode io --framing paper",
        "prompt --probe arithmetic:base=9 --mode ccc --check-n 200 --check-file data/ccc/base{base}.txt",
    ),
    "run": (
        "run",
        "run --probe arithmetic:base=8 --probe arithmetic:base=10 --mode deductive,solverlearner --n 10",
        "run --model openai/gpt-4o-mini --api-key-env OPENAI_API_KEY --probe syntax --shots 4 --instances 2",
        "run --model openai/qwen --api-base http://127.0.0.1:8080/v1 --probe cipher --concurrency 2",
        "run --model qwen@concurrency=16,rpm=600 --api-base http://a:8000/v1,http://b:8000/v1 --probe syntax",
        "run --model openai/gpt-4o-mini --probe arithmetic --dry-run",
        "run --model openai/gpt-4o-mini --probe arithmetic --max-cost 2.50",
        "run --model openai/gpt-4o-mini --probe arithmetic --mode deductive,io,ccc --batch --poll 300",
        "run --model replay/items.csv --probe arithmetic --mode deductive",
        "run --probe arithmetic --mode solverlearner --samples 5 --rounds 2 --temperature 0.7 --seed 1",
        "run --probe arithmetic:base=9 --probe cipher --mode oracle --queries 4 --submissions 2",
        "run --probe arithmetic --max-tokens 512 --cot --max-failures 5 --run-id base8-study --csv items.csv",
        "run --probe arithmetic:base=9 --cases-file data/0shot/base{base}.txt",
        "run --probe arithmetic:base=9 --mode deductive,ccc --n 1000 --check-n 200 --framing blind",
        "run --probe arithmetic:base=9 --mode io,solverlearner,verbal_apply --shots 1,4,16 --noise 0,0.25",
        "run --probe cipher --mode solverlearner --shots 2 --identifiable",
        "run --preset wu-arithmetic-recorded --db wu.db --csv wu-items.csv",
        "run --probe arithmetic:base=9 --mode ccc --check-file data/ccc/base{base}.txt",
        "run --resume 20261130-141937-6cf752 --db runs.db",
        'run --probe arithmetic:base=9 --shots 1,4,16 --name "base-9 sweep"',
    ),
    "presets": ("presets",),
    "list": ("list", "list --db runs.db"),
    "show": ("show 20261130-141937-6cf752", "show base8-study --db runs.db"),
    "delete": ("delete 20261130-141937-6cf752", "delete base8-study --db runs.db"),
    "rename": (
        'rename 20261130-141937-6cf752 "base-9 sweep"',
        'rename base8-study "" --db runs.db',
    ),
    "export": (
        "export base8-study --csv items.csv",
        "export base8-study --csv summary.csv --summary --db runs.db",
        "export base8-study base9-study --parquet items.parquet",
        "export base8-study --csv items.csv --parquet items.parquet",
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
        help="held-out inputs, one a line (or FILE.csv#COLUMN: a column of a CSV file with a header), "
        "instead of generated ones; {param} is filled from each setting, e.g. "
        "counterfactual-evaluation/arithmetic/data/0shot/base{base}.txt",
    )


def _check_file_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--check-file",
        metavar="PATH",
        help="the ccc mode's inputs, one a line, instead of generated ones; {param} as for --cases-file, "
        "e.g. counterfactual-evaluation/arithmetic/data/ccc/base{base}.txt",
    )
    p.add_argument(
        "--check-n",
        type=int,
        metavar="N",
        help="comprehension-check (ccc) items per setting (default: --n), e.g. Wu et al.'s 200 checks beside "
        "their 1,000 items",
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
    p.set_defaults(command_name="cases")

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
    _framing_option(p)
    _cases_file_option(p)
    _check_file_option(p)
    _db_option(p)
    p.set_defaults(command_name="prompt")


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
        metavar="MODES",
        help=f"comma-separated modes, of {', '.join(api.MODE_ORDER)} (default {DEFAULT_RUN_MODES})",
    )
    p.add_argument(
        "--shots",
        type=api.parse_shots,
        default=8,
        metavar="K[,K...]",
        help="input -> output examples per prompt; a list (1,2,4,8) sweeps them on the same cases "
        "(default 8)",
    )
    p.add_argument(
        "--noise",
        type=api.parse_noise,
        default=0.0,
        metavar="F[,F...]",
        help="fraction of shown examples given a plausible wrong output; a list (0,0.1,0.25) sweeps it "
        "(default 0)",
    )
    p.add_argument(
        "--identifiable",
        action="store_true",
        help="draw examples until only the setting's own world fits them (see consistent_worlds)",
    )
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
    _number(
        p,
        "--queries",
        api.DEFAULT_QUERIES,
        "Q",
        f"mode oracle: inputs the model may ask the hidden rule about, 0 to {api.MAX_QUERIES} "
        "(a refused input counts too)",
    )
    _number(
        p,
        "--submissions",
        api.DEFAULT_SUBMISSIONS,
        "S",
        f"mode oracle: functions the model may submit, 1 to {api.MAX_SUBMISSIONS}; a wrong one gets one "
        "input where it differs from the rule, the last one is scored",
    )
    _number(p, "--max-tokens", 1024, "N", "longest reply, in tokens")
    p.add_argument("--cot", action="store_true", help="chain-of-thought wording for direct answers")
    _number(p, "--concurrency", 8, "N", "model calls in flight at once")
    _number(p, "--max-failures", 20, "N", "failed calls after which the run stops")
    p.add_argument(
        "--run-id", metavar="ID", help="the run's id; an existing run with the same plan is resumed"
    )
    p.add_argument(
        "--name",
        metavar="NAME",
        help=f"name the run (at most {api.NAME_LIMIT} characters): charts, tables and CSVs show it instead "
        "of model - date - short id; a preset's runs get NAME - their label; `rename` changes it",
    )
    p.add_argument(
        "--max-cost", type=float, metavar="USD", help="stop cleanly before the run's cost passes this"
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the calls, tokens and cost per model; store nothing"
    )
    p.add_argument(
        "--batch",
        action="store_true",
        help="send each item's first call through the provider's batch API (OpenAI format: openai/... or "
        "an --api-base; replies within a day, at batch prices), then wait for the replies; stop or kill "
        "this process at any time and --resume RUN collects them. Verbal modes, further samples and "
        "refinement rounds are called normally afterwards",
    )
    p.add_argument(
        "--poll",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="seconds between checks of a run's open batches (default 30)",
    )
    _framing_option(p)
    p.add_argument(
        "--preset",
        metavar="NAME",
        help="a published set-up (python -m lab presets lists them): each of its runs is run; "
        "runs without recorded models use --model",
    )
    p.add_argument("--resume", metavar="RUN_ID", help="finish a stopped, failed or killed run")
    p.add_argument("--csv", metavar="PATH", help="also write the items CSV here")
    _cases_file_option(p)
    _check_file_option(p)
    _db_option(p)
    p.set_defaults(command_name="run")


def _add_stored_run_commands(sub: argparse._SubParsersAction) -> None:
    """`list`, `show`, `delete`, `export`, `report`: the runs in the store."""
    p = _command(sub, "list", f"list runs, one a line of at most {LIST_WIDTH} characters")
    _db_option(p)
    p.set_defaults(command_name="list")
    for name, text in (
        ("show", "show a run's plan, status, reason and summary"),
        ("delete", "delete a run and its items"),
    ):
        p = _command(sub, name, text)
        p.add_argument("run", metavar="RUN_ID", help="the run's id, as `python -m lab list` shows it")
        _db_option(p)
        p.set_defaults(command_name=name)
    p = _command(sub, "rename", "name a run (or clear its name); charts, tables and CSVs show the name")
    p.add_argument("run", metavar="RUN_ID", help="the run's id, as `python -m lab list` shows it")
    p.add_argument(
        "name", metavar="NAME", help=f'the new name, at most {api.NAME_LIMIT} characters; "" clears it'
    )
    _db_option(p)
    p.set_defaults(command_name="rename")
    p = _command(sub, "export", "write runs' items (or summary) as CSV, or the items as typed Parquet")
    p.add_argument("runs", nargs="+", metavar="RUN_ID", help="the runs to export, as `list` shows them")
    p.add_argument("--csv", metavar="PATH", help="the CSV file to write")
    p.add_argument(
        "--parquet",
        metavar="PATH",
        help="the items as a Parquet file: the CSV's columns, each keeping its type (ints, bools, floats)",
    )
    p.add_argument(
        "--summary", action="store_true", help="the summary (accuracy per setting) instead of items, as CSV"
    )
    _db_option(p)
    p.set_defaults(command_name="export")

    p = _command(
        sub,
        "report",
        "write one self-contained HTML report of runs: summary matrix, charts and every item with its "
        "reply and code, searchable; it opens with no network",
    )
    p.add_argument("runs", nargs="+", metavar="RUN_ID", help="the runs to report, as `list` shows them")
    p.add_argument("--html", required=True, metavar="PATH", help="the HTML file to write")
    _db_option(p)
    p.set_defaults(command_name="report")


def _add_probes_commands(sub: argparse._SubParsersAction) -> None:
    """`probes list | import | export | delete`: the families, and custom probes."""
    p = _command(sub, "probes", "list probe families; import, export or delete custom probes")
    probes_sub = p.add_subparsers(dest="probes_command", required=True, metavar="COMMAND")
    q = _command(probes_sub, "list", "the built-in families' standard settings, and custom probes")
    q.set_defaults(command_name="probes_list")
    q = _command(probes_sub, "import", "compile a custom probe's JSON file in the sandbox and save it")
    q.add_argument("file", metavar="FILE", help="the probe's JSON file (as `probes export` writes it)")
    q.set_defaults(command_name="probes_import")
    q = _command(probes_sub, "export", "write a saved custom probe as a JSON file")
    q.add_argument("name", metavar="NAME", help="the custom probe's name")
    q.add_argument("file", metavar="FILE", help="the JSON file to write")
    q.set_defaults(command_name="probes_export")
    q = _command(probes_sub, "delete", "delete a saved custom probe")
    q.add_argument("name", metavar="NAME", help="the custom probe's name")
    q.set_defaults(command_name="probes_delete")
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
    p = _command(sub, "presets", "list the study presets (python -m lab run --preset NAME)")
    p.set_defaults(command_name="presets")
    return parser

"""Custom probes: definitions, the sandbox compile, hostile code, the store, the command line and the app."""

from __future__ import annotations

import builtins
import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lab import custom
from lab.cli import main
from lab.results import read
from lab.run import study
from lab.run.store import Store
from probes import BUILT_IN, REGISTRY, WORDS, Case, ProbeError, get_family, parse_spec, register, unregister
from tests.scripted_server import ScriptedServer
from tests.test_app import assert_no_exception, configure, go, new_app, run_status, texts, wait_until

ROOT = Path(__file__).resolve().parent.parent
REVERSE = 'def mapping(x: str) -> str:\n    return " ".join(word[::-1] for word in x.split())\n'


def definition(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "solverlab_custom_probe": 1,
        "name": "mirror_words",
        "description": "Each input is one to three lower-case words; the output is lower-case text.",
        "rule": "Reverse the letters of each word and keep the words in order.",
        "world": "counterfactual",
        "mapping": REVERSE,
        "generator": {"kind": "words", "min_words": 1, "max_words": 3},
    }
    data.update(overrides)
    return data


def probe(**overrides: Any) -> custom.CustomProbe:
    return custom.probe_from_dict(definition(**overrides))


def reverse_words(text: str) -> str:
    return " ".join(word[::-1] for word in text.split())


@pytest.fixture(autouse=True)
def only_built_in_families() -> Iterator[None]:
    """Custom families registered by a test (or by the app it drives) do not outlive it."""
    yield
    for name in [n for n in REGISTRY if n not in BUILT_IN]:
        unregister(name)


# ---------------------------------------------------------------------------------------------
# Definitions and their JSON format

GENERATORS = [
    {"kind": "choices", "choices": [f"item {i}" for i in range(20)]},
    {"kind": "integers", "low": -50, "high": 50, "count": 3, "separator": ","},
    {"kind": "words", "min_words": 2, "max_words": 4, "separator": "-"},
    {"kind": "python", "source": custom.GENERATOR_TEMPLATE},
]


@pytest.mark.parametrize("generator", GENERATORS, ids=lambda g: g["kind"])
def test_a_definition_round_trips_through_json(generator: dict[str, Any]) -> None:
    original = probe(generator=generator)
    text = custom.to_json(original)
    data = json.loads(text)
    assert data["solverlab_custom_probe"] == 1 and data["generator"]["kind"] == generator["kind"]
    assert custom.from_json(text) == original
    assert custom.from_json(text.encode()) == original
    assert custom.probe_from_dict(original.to_dict()) == original


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"solverlab_custom_probe": 2}, "version 2 is not supported"),
        ({"name": "Has Spaces"}, "name: 'has spaces' is not a valid name"),
        ({"name": "cipher"}, "name: 'cipher' is a built-in probe family"),
        ({"name": ""}, "name: required"),
        ({"world": "other"}, "world: must be familiar or counterfactual"),
        ({"rule": " "}, "rule: required"),
        ({"mapping": "x" * 20_001}, "mapping: at most 20,000 characters"),
        ({"colour": "red"}, "colour: unknown field"),
        ({"generator": {"kind": "dice"}}, "generator.kind: must be one of choices, integers, words, python"),
        ({"generator": {"kind": "integers", "low": 5, "high": 1}}, "generator.high: must be at least low"),
        ({"generator": {"kind": "integers", "low": "0", "high": 9}}, "generator.low: must be a whole number"),
        ({"generator": {"kind": "choices", "choices": "abc"}}, "generator.choices: give a non-empty list"),
        ({"generator": {"kind": "choices", "choices": ["a", "b\nc"]}}, "generator.choices[1]"),
        ({"generator": {"kind": "words", "max_words": 11}}, "generator.max_words: must be between 1 and 10"),
        ({"generator": {"kind": "python"}}, "generator.source: required"),
    ],
)
def test_a_bad_definition_is_refused_naming_the_field(change: dict[str, Any], message: str) -> None:
    with pytest.raises(custom.CustomProbeError) as caught:
        custom.probe_from_dict(definition(**change))
    assert message in str(caught.value)


def test_the_readme_example_is_a_valid_definition() -> None:
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Custom probes", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    example = custom.from_json(block)
    assert example.name == "mirror_words" and example.generator == custom.WordInputs(1, 3, " ")


def test_a_file_that_is_not_a_custom_probe_is_refused_clearly() -> None:
    for text, message in (
        ("{nope", "not a JSON file"),
        ("[1, 2]", "a custom probe is a JSON object"),
        (json.dumps({"name": "x"}), "the field 'solverlab_custom_probe' is missing"),
    ):
        with pytest.raises(custom.CustomProbeError) as caught:
            custom.from_json(text)
        assert message in str(caught.value)


# ---------------------------------------------------------------------------------------------
# Compiling in the sandbox, and the family a pool becomes


def test_each_generator_kind_draws_a_pool_of_distinct_inputs_mapped_in_the_sandbox() -> None:
    choices = custom.compile_probe(probe(generator=GENERATORS[0]))
    assert {c.input for c in choices.pool} == set(GENERATORS[0]["choices"])
    integers = custom.compile_probe(probe(generator=GENERATORS[1]))
    assert len(integers.pool) == custom.POOL_SIZE
    for case in integers.pool:
        numbers = [int(n) for n in case.input.split(",")]
        assert len(numbers) == 3 and all(-50 <= n <= 50 for n in numbers)
    words = custom.compile_probe(probe(generator=GENERATORS[2]))
    for case in words.pool:
        parts = case.input.split("-")
        assert 2 <= len(parts) <= 4 and set(parts) <= set(WORDS)
    for compiled in (choices, integers, words):
        assert len({c.input for c in compiled.pool}) == len(compiled.pool)
        assert all(c.output == reverse_words(c.input) for c in compiled.pool)


def test_a_python_generator_gets_a_seeded_random_stand_in_in_the_sandbox() -> None:
    source = (
        "def generate(rng):\n"
        "    letters = list('abcdef')\n"
        "    rng.shuffle(letters)\n"
        "    word = ''.join(rng.sample(letters, rng.randint(2, 4)))\n"
        "    tail = rng.choice(['x', 'y']) + str(rng.randrange(0, 100, 5))\n"
        "    assert 0.0 <= rng.random() < 1.0 and 1.0 <= rng.uniform(1, 2) <= 2.0\n"
        "    return word + ' ' + tail\n"
    )
    first = custom.compile_probe(probe(generator={"kind": "python", "source": source}))
    again = custom.compile_probe(probe(generator={"kind": "python", "source": source}))
    assert first.pool == again.pool  # deterministic: one seed per draw
    assert len(first.pool) == custom.POOL_SIZE
    for case in first.pool:
        word, tail = case.input.split()
        assert 2 <= len(word) <= 4 and len(set(word)) == len(word) and set(word) <= set("abcdef")
        assert tail[0] in "xy" and int(tail[1:]) % 5 == 0
        assert case.output == reverse_words(case.input)


def test_a_compiled_probe_is_a_family_like_the_built_in_ones() -> None:
    compiled = custom.compile_probe(probe())
    family = compiled.family()
    (setting,) = family.standard_settings()
    assert setting.spec == "mirror_words:world=counterfactual" and not setting.default_world
    cases = family.cases(setting, 40, seed=3)
    assert cases == family.cases(setting, 40, seed=3) and cases != family.cases(setting, 40, seed=4)
    assert len({c.input for c in cases}) == 40 and set(cases) <= set(compiled.pool)
    assert family.rule(setting) == compiled.probe.rule and family.task == compiled.probe.description
    assert family.normalise("  olleh   dlrow ") == "olleh dlrow"
    with pytest.raises(ValueError, match="no output for 'not in the pool'"):
        family.solve(setting, "not in the pool")
    with pytest.raises(ProbeError, match="has only 300 distinct cases; asked for 301"):
        family.cases(setting, 301, seed=0)
    familiar = custom.compile_probe(probe(name="plain_words", world="familiar")).family()
    assert familiar.default_setting().default_world
    register(family)
    assert parse_spec("mirror_words") == [setting]
    assert parse_spec("mirror_words:world=counterfactual") == [setting]
    with pytest.raises(ProbeError, match="valid: counterfactual"):
        parse_spec("mirror_words:world=familiar")


def test_a_built_in_family_cannot_be_shadowed_or_removed() -> None:
    cipher = get_family("cipher")
    impostor = custom.CompiledProbe(probe(), (Case("a", "b"),)).family()
    with pytest.raises(ProbeError, match="'cipher' is a built-in probe family"):
        register(dataclasses.replace(impostor, name="cipher"))
    with pytest.raises(ProbeError, match="built-in"):
        unregister("cipher")
    assert get_family("cipher") is cipher


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("def mapping(x):\n    return x +\n", "The mapping code is not valid Python: line 2: SyntaxError"),
        (
            "def transform(x):\n    return x\n",
            "The mapping code defines no function `def mapping(x: str) -> str`",
        ),
        ("mapping = 'not a function'\n", "defines no function `def mapping"),
        ("def mapping(x):\n    return len(x)\n", "The mapping did not return text on input"),
        ("def mapping(x):\n    return x\n", None),  # checked below: identical inputs and outputs are fine
        ("def mapping(x):\n    return 'same'\n", "gives the same output 'same' for all 300 inputs"),
        ("def mapping(x):\n    return x + '\\n' + x\n", "spans several lines"),
        ("def mapping(x):\n    return ''\n", "is empty"),
        (
            "def mapping(x):\n    return x\n1 / 0\n",
            "The mapping code failed while being loaded: ZeroDivisionError",
        ),
    ],
)
def test_a_broken_mapping_gets_a_readable_message(mapping: str, message: str | None) -> None:
    if message is None:
        assert len(custom.compile_probe(probe(mapping=mapping)).pool) == custom.POOL_SIZE
        return
    with pytest.raises(custom.CustomProbeError) as caught:
        custom.compile_probe(probe(mapping=mapping))
    assert message in str(caught.value)
    assert "Traceback" not in str(caught.value)


def test_an_exception_on_some_inputs_names_the_first_and_counts_the_others() -> None:
    mapping = (
        "def mapping(x):\n    if 'a' in x:\n        raise ValueError('no a please')\n    return x[::-1]\n"
    )
    with pytest.raises(custom.CustomProbeError) as caught:
        custom.compile_probe(probe(mapping=mapping))
    text = str(caught.value)
    assert text.startswith("The mapping raised an error on input '") and "a" in text.split("'")[1]
    assert "ValueError: no a please (line 3)" in text and "more inputs failed too" in text


def test_too_few_distinct_inputs_are_refused() -> None:
    generator = {"kind": "choices", "choices": ["one", "two", "three"]}
    with pytest.raises(
        custom.CustomProbeError, match="only 3 distinct inputs in 400 draws; a probe needs at least 12"
    ):
        custom.compile_probe(probe(generator=generator))
    constant = {"kind": "python", "source": "def generate(rng):\n    return 'x'\n"}
    with pytest.raises(custom.CustomProbeError, match="only 1 distinct inputs"):
        custom.compile_probe(probe(generator=constant))


# ---------------------------------------------------------------------------------------------
# Hostile definitions: contained by the executor, a clear message, nothing saved

HOSTILE = [
    pytest.param(
        {"mapping": "import os\ndef mapping(x):\n    return os.getcwd()\n"},
        "The mapping code was refused by the sandbox: RestrictedImportError: import of 'os' is not allowed",
        id="import-os",
    ),
    pytest.param(
        {"mapping": "def mapping(x):\n    return str(().__class__.__base__.__subclasses__())\n"},
        "The mapping code was refused by the sandbox",
        id="subclasses",
    ),
    pytest.param(
        {"mapping": "def mapping(x):\n    return open('/etc/passwd').read()\n"},
        "The mapping was refused by the sandbox on input",
        id="open",
    ),
    pytest.param(
        {"mapping": "def mapping(x):\n    while True:\n        pass\n"},
        "The mapping ran out of time on input",
        id="infinite-mapping",
    ),
    pytest.param(
        {"mapping": "while True:\n    pass\ndef mapping(x):\n    return x\n"},
        "The mapping code ran out of time while being loaded",
        id="infinite-module",
    ),
    pytest.param(
        {"mapping": "def mapping(x):\n    return str(len('a' * 10**10))\n"},
        "The mapping ran out of memory on input",
        id="memory-bomb",
    ),
    pytest.param(
        {"generator": {"kind": "python", "source": "def generate(rng):\n    while True:\n        pass\n"}},
        "The input generator ran out of time on seed 0",
        id="infinite-generator",
    ),
    pytest.param(
        {"generator": {"kind": "python", "source": "import random\ndef generate(rng):\n    return 'x'\n"}},
        "The input generator code was refused by the sandbox: RestrictedImportError: import of 'random'",
        id="generator-import",
    ),
    pytest.param(
        {"generator": {"kind": "python", "source": "def generate(rng):\n    return rng.__class__\n"}},
        "The input generator code was refused by the sandbox",
        id="generator-dunder",
    ),
]


@pytest.mark.parametrize(("change", "message"), HOSTILE)
def test_hostile_definitions_are_contained_with_a_clear_message_and_not_saved(
    change: dict[str, Any], message: str, db_path: Path
) -> None:
    store = Store(db_path)
    with pytest.raises(custom.CustomProbeError) as caught:
        custom.import_json(store, json.dumps(definition(**change)))
    assert message in str(caught.value), str(caught.value)
    assert store.custom_probes() == [] and "mirror_words" not in REGISTRY


def test_no_user_code_runs_in_this_process(
    tmp_path: Path, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A definition that would leave traces if executed here, and a spy on exec, eval and compile."""
    marker = "SENTINEL-5e0c41"
    trace = tmp_path / "ran-in-process.txt"
    monkeypatch.delenv("SOLVERLAB_SENTINEL", raising=False)
    seen: list[str] = []

    def spy(real: Any) -> Any:
        def call(source: Any, *args: Any, **kwargs: Any) -> Any:
            text = source.decode(errors="replace") if isinstance(source, bytes) else source
            if isinstance(text, str) and marker in text:
                seen.append(text)
            return real(source, *args, **kwargs)

        return call

    for name in ("exec", "eval", "compile"):
        monkeypatch.setattr(builtins, name, spy(getattr(builtins, name)))
    hostile = (
        f"# {marker}\nimport os\nos.environ['SOLVERLAB_SENTINEL'] = 'ran'\n"
        f"open({str(trace)!r}, 'w').write('ran')\ndef mapping(x):\n    return x\n"
    )
    store = Store(db_path)
    with pytest.raises(custom.CustomProbeError, match="import of 'os' is not allowed"):
        custom.import_json(store, json.dumps(definition(mapping=f"{REVERSE}# {marker}\n{hostile}")))
    # A good probe goes all the way: compiled, saved, installed, drawn from, previewed, exported.
    good = definition(
        mapping=f"# {marker}\n{REVERSE}",
        generator={"kind": "python", "source": f"# {marker}\n{custom.GENERATOR_TEMPLATE}"},
    )
    compiled = custom.import_json(store, json.dumps(good))
    assert custom.install_saved(store) == []
    family = get_family("mirror_words")
    family.cases(family.default_setting(), 20, seed=1)
    compiled.preview()
    custom.export_json(store, "mirror_words")
    assert seen == []
    assert "SOLVERLAB_SENTINEL" not in os.environ and not trace.exists()


# ---------------------------------------------------------------------------------------------
# The store


def test_saved_probes_are_installed_replaced_only_after_delete_and_removed(db_path: Path) -> None:
    store = Store(db_path)
    compiled = custom.compile_probe(probe())
    assert custom.save(store, compiled) is True
    assert custom.save(store, compiled) is False  # the same definition again: nothing to do
    changed = custom.compile_probe(probe(rule="Something else."))
    with pytest.raises(
        custom.CustomProbeError, match=r"already saved with another definition.*delete it first"
    ):
        custom.save(store, changed)
    unregister("mirror_words")
    assert custom.install_saved(Store(db_path)) == []
    assert get_family("mirror_words").rule(get_family("mirror_words").default_setting()).startswith("Reverse")
    assert custom.load(store, "mirror_words") == compiled
    custom.delete(store, "mirror_words")
    assert "mirror_words" not in REGISTRY and store.custom_probes() == []
    with pytest.raises(custom.CustomProbeError, match="no custom probe 'mirror_words'"):
        custom.delete(store, "mirror_words")
    assert custom.save(store, changed) is True


def test_install_saved_follows_the_store_and_reports_a_probe_a_built_in_now_shadows(db_path: Path) -> None:
    store = Store(db_path)
    custom.save(store, custom.compile_probe(probe()))
    register(custom.compile_probe(probe(name="stale_probe")).family())  # not in this store
    # As if saved before a built-in family of that name existed.
    store.save_custom_probe("cipher", {**definition(), "name": "cipher"}, [("a", "b")])
    problems = custom.install_saved(store)
    assert problems == [
        "custom probe 'cipher' is not available: name: 'cipher' is a built-in probe family; "
        "choose another name"
    ]
    assert "mirror_words" in REGISTRY and "stale_probe" not in REGISTRY
    assert get_family("cipher").name == "cipher" and get_family("cipher") is REGISTRY["cipher"]
    assert [c.probe.name for c in custom.saved(store)] == ["mirror_words"]


# ---------------------------------------------------------------------------------------------
# The command line


def scripted_reply(messages: list[dict[str, str]]) -> str:
    """A model that knows the custom mapping: a correct solver, or the correct boxed answer."""
    content = messages[-1]["content"]
    if "Reply with OK" in content:
        return "OK"
    if "def solver(x: str) -> str" in content:
        return "```python\ndef solver(x):\n    return ' '.join(w[::-1] for w in x.split())\n```"
    asked = re.findall(r"What is the output for (.+)\?", content)  # the paper framing's question lines
    if asked:
        return f"The output for {asked[-1]} is {reverse_words(asked[-1])}."
    query = [line for line in content.splitlines() if line.startswith("Input: ")][-1].removeprefix("Input: ")
    return f"\\boxed{{{reverse_words(query)}}}"


def lab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "lab", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_the_command_line_imports_lists_uses_runs_exports_and_deletes_a_custom_probe(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "mirror.json"
    source.write_text(json.dumps(definition()))
    db = str(db_path)
    assert main(["probes", "import", str(source), "--db", db]) == 0
    assert "saved custom probe mirror_words (300 inputs)" in capsys.readouterr().out
    assert main(["probes", "list", "--db", db]) == 0
    listed = capsys.readouterr().out
    assert "arithmetic:base=10,digits=2  (default world)" in listed
    assert (
        "mirror_words: Each input is one to three" in listed and "mirror_words:world=counterfactual" in listed
    )
    unregister("mirror_words")  # the next commands find it in the store, as a new process would
    assert main(["cases", "--probe", "mirror_words", "--n", "5", "--db", db]) == 0
    cases = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(cases) == 5 and all(c["output"] == reverse_words(c["input"]) for c in cases)
    assert main(["prompt", "--probe", "mirror_words", "--mode", "deductive", "--db", db]) == 0
    content = json.loads(capsys.readouterr().out)["messages"][0]["content"]
    assert "The rule: Reverse the letters of each word" in content

    with ScriptedServer(scripted_reply) as server:
        ran = lab(
            "run",
            "--model",
            "openai/scripted",
            "--api-base",
            server.base_url,
            "--probe",
            "mirror_words",
            "--mode",
            "deductive,io,solverlearner",
            "--shots",
            "3",
            "--n",
            "4",
            "--instances",
            "1",
            "--db",
            db,
        )
    assert ran.returncode == 0, ran.stderr
    run_id = next(line.split()[1] for line in ran.stdout.splitlines() if line.startswith("run_id:"))
    store = Store(db_path)
    items = store.items([run_id])
    assert len(items) == 12 and all(i["correct"] for i in items)
    assert {(i["probe"], i["setting"], i["default_world"]) for i in items} == {
        ("mirror_words", "world=counterfactual", 0)
    }
    assert "mirror_words" in ran.stdout  # the summary names the probe like any other

    exported = tmp_path / "exported.json"
    assert main(["probes", "export", "mirror_words", str(exported), "--db", db]) == 0
    assert custom.from_json(exported.read_text()) == custom.probe_from_dict(definition())
    assert main(["probes", "delete", "mirror_words", "--db", db]) == 0
    capsys.readouterr()
    assert main(["cases", "--probe", "mirror_words", "--db", db]) == 2
    assert "no probe family 'mirror_words'" in capsys.readouterr().err
    # Its run keeps its items; resuming it says why it cannot go on.
    resumed = lab("run", "--resume", run_id, "--db", db)
    assert resumed.returncode == 2 and "no probe family 'mirror_words'" in resumed.stderr
    assert "Traceback" not in resumed.stderr
    assert store.get_run(run_id).status == "finished" and len(store.items([run_id])) == 12  # type: ignore[union-attr]


def test_the_command_line_refuses_a_hostile_or_unreadable_file(
    tmp_path: Path, db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hostile = tmp_path / "hostile.json"
    hostile.write_text(json.dumps(definition(mapping="def mapping(x):\n    while True:\n        pass\n")))
    assert main(["probes", "import", str(hostile), "--db", str(db_path)]) == 2
    assert "error: The mapping ran out of time on input" in capsys.readouterr().err
    assert main(["probes", "import", str(tmp_path / "missing.json"), "--db", str(db_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    assert Store(db_path).custom_probes() == []


# ---------------------------------------------------------------------------------------------
# The app


def fill_probe_form(at: Any, name: str, mapping: str = REVERSE) -> None:
    at.text_input(key="probe_name").set_value(name)
    at.text_input(key="probe_description").set_value(definition()["description"])
    at.text_area(key="probe_rule").set_value(definition()["rule"])
    at.radio(key="probe_world").set_value("counterfactual")
    at.text_area(key="probe_mapping").set_value(mapping)
    at.selectbox(key="probe_kind").set_value("words").run()
    at.number_input(key="probe_max_words").set_value(3).run()
    assert_no_exception(at)


def test_a_probe_made_in_the_app_runs_a_study_end_to_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "solverlab.db"
    at = new_app(db, monkeypatch)
    at.run()
    go(at, "Probes")
    fill_probe_form(at, "mirror_words")
    at.button(key="probe_try").click().run()
    assert_no_exception(at)
    assert "mirror_words:world=counterfactual: 300 distinct inputs" in texts(at.success)
    preview = at.dataframe[0].value
    assert len(preview) == 5 and all(preview["output"] == preview["input"].map(reverse_words))
    assert Store(db).custom_probes() == []  # trying saves nothing
    at.button(key="probe_save").click().run()
    assert "Saved mirror_words" in texts(at.success)
    assert [r.name for r in Store(db).custom_probes()] == ["mirror_words"]
    assert any("mirror_words" in e.label for e in at.expander)
    assert at.get("download_button")[0].proto.label == "Download JSON"

    with ScriptedServer(scripted_reply) as server:
        go(at, "Run")
        assert "mirror_words" in [t.label for t in at.tabs]
        configure(
            at,
            server.base_url,
            probes=("mirror_words:world=counterfactual",),
            modes=("deductive", "io", "solverlearner"),
        )
        at.button(key="start").click().run()
        assert_no_exception(at)
        run_id = at.session_state["watch_run"]
        wait_until(at, lambda: run_status(db, run_id) != "running", "the run to end")
        at.run()
    assert run_status(db, run_id) == "finished", texts(at.error)
    summary = read.summary_frame(Store(db), [run_id])
    assert set(summary["probe"]) == {"mirror_words"} and set(summary["accuracy"]) == {1.0}
    go(at, "Results")
    assert at.multiselect(key="runs").value == [run_id]
    charts = {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
    assert {"chart_headline", "chart_gap"} <= set(charts)
    headline = json.dumps(charts["chart_headline"])
    assert "mirror_words" in headline and "world=counterfactual" in headline
    shown = next(d.value for d in at.dataframe if "ci_low" in d.value.columns and "mode" in d.value.columns)
    assert set(shown["probe"]) == {"mirror_words"} and len(shown) == 3


def test_a_hostile_probe_in_the_app_shows_the_message_and_the_app_keeps_working(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "solverlab.db"
    at = new_app(db, monkeypatch)
    at.run()
    go(at, "Probes")
    fill_probe_form(
        at, "escape", mapping="def mapping(x):\n    return str(().__class__.__base__.__subclasses__())\n"
    )
    at.button(key="probe_save").click().run()
    assert_no_exception(at)
    assert "Not saved: The mapping code was refused by the sandbox" in texts(at.error)
    fill_probe_form(at, "spin", mapping="def mapping(x):\n    while True:\n        pass\n")
    at.button(key="probe_try").click().run()
    assert "Not usable: The mapping ran out of time on input" in texts(at.error)
    at.file_uploader(key="probe_upload").set_value(
        ("hostile.json", json.dumps(definition(mapping="import os\n")).encode(), "application/json")
    ).run()
    assert "Not imported (hostile.json): The mapping code was refused by the sandbox" in texts(at.error)
    assert Store(db).custom_probes() == [] and "No custom probes yet." in texts(at.info)
    # Still working: a good file imports, and the Run page offers it.
    at.file_uploader(key="probe_upload").set_value(
        ("mirror.json", json.dumps(definition()).encode(), "application/json")
    ).run()
    assert "Imported mirror_words from mirror.json." in texts(at.success)
    go(at, "Run")
    assert "mirror_words" in [t.label for t in at.tabs]
    # Deleted after a confirmation, it leaves the Run page too.
    go(at, "Probes")
    at.button(key="probe_delete:mirror_words").click().run()
    assert "Runs that used it keep their items" in texts(at.warning)
    at.button(key="probe_delete_yes").click().run()
    assert_no_exception(at)
    assert Store(db).custom_probes() == []
    go(at, "Run")
    assert "mirror_words" not in [t.label for t in at.tabs]


def test_a_run_refuses_to_resume_on_a_probe_deleted_and_saved_anew(db_path: Path) -> None:
    from lab.models import ModelSpec
    from lab.run.plan import RunError, RunPlan

    store = Store(db_path)
    custom.save(store, custom.compile_probe(probe()))
    plan = RunPlan(
        models=(ModelSpec("openai/scripted", api_base="http://127.0.0.1:9/v1"),),
        probes=("mirror_words",),
        modes=("deductive",),
        n=4,
        shots=2,
        instances=1,
    )
    run_id = study.prepare_run(store, plan)
    assert store.get_run(run_id).versions["custom probe mirror_words"]  # type: ignore[union-attr]
    custom.delete(store, "mirror_words")
    upper = "def mapping(x: str) -> str:\n    return x.upper()\n"
    custom.save(store, custom.compile_probe(probe(mapping=upper)))
    with pytest.raises(RunError, match="mirror_words was deleted and saved anew"):
        study.execute_run(store, run_id, preflight=False)
    record = store.get_run(run_id)
    assert record is not None and record.status == "failed" and "saved anew" in (record.reason or "")

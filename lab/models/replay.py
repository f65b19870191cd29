"""Replay models: `replay/PATH` answers from recorded transcripts instead of calling a provider.

PATH is one file, a folder (every `.tsv` and `.csv` in it) or a glob, relative to the working
directory, or several of these joined by `:` (as in $PATH). Two formats are read:
  - Wu et al.'s `.tsv` (`lab.transcripts`): a recorded prompt answers a call whose messages are
    exactly one user message with that content;
  - SolverLab's items CSV (`python -m lab export`): its `messages` (JSON) and `response` columns,
    matched on the exact messages list.
Matching is exact and ignores temperature, seed and max_tokens. A prompt that was not recorded
raises `NotRecordedError` (the runner scores its items wrong with error `not_recorded`); two different
responses recorded for one prompt are an error when the files are loaded, naming both places.
`ReplayProvider` puts all this behind the common `Provider` interface.

The set of files is fixed when a model is checked (before a run); their contents are loaded once
per set of paths and modification times, and again whenever a file changes.
"""

from __future__ import annotations

import glob
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePath

from lab.models.provider import (
    DEFAULT_RETRY,
    CallParams,
    Completion,
    ModelCallError,
    ModelUnavailableError,
    NoReplyError,
    Provider,
    RetryPolicy,
)
from lab.models.transcripts import read_wu_tsv

PREFIX = "replay/"
NOT_RECORDED = "not_recorded"
SUFFIXES = (".tsv", ".csv")
TRANSCRIPTS_ENV = "SOLVERLAB_TRANSCRIPTS"
DEFAULT_TRANSCRIPTS = Path(__file__).resolve().parents[3] / "shared" / "anchors"

# Wu et al.'s recordings: file prefix -> the model they recorded; folder -> chain of thought or not.
WU_MODELS = {
    "gpt4": "gpt-4-0314",
    "gpt3.5": "gpt-3.5-turbo-0301",
    "claude": "claude-v1.3",
    "palm2": "palm2",
}
WU_VARIANTS = {"without_0cot": False, "with_0cot": True}
WU_ZERO_SHOT = Path("counterfactual-evaluation", "arithmetic", "model_interactions", "0shot")
WU_CHECKS = Path("counterfactual-evaluation", "arithmetic", "model_interactions", "ccc")
# Wu et al.'s file names: arithmetic `<model>_base<B>.tsv` (in a CoT folder or `ccc`), spatial
# `<model>_<world>.tsv` (in a CoT folder), syntax `[control-]<order>-<task>_<std|cot>-<org>-<model>.tsv`.
_WU_FILE = re.compile(r"(?P<model>[^_/]+)_[^/]*\.tsv")
_WU_CHECK_FOLDER = "ccc"
_WU_SYNTAX_FILE = re.compile(r"[^/]*_(?P<variant>std|cot)-(?:openai|anthropic|models)-(?P<model>[^/]+)\.tsv")
_RUN_SUFFIX = re.compile(r"(?P<name>.*?)(?P<suffix> \[[^\]]*\])?")

Messages = list[dict[str, str]]


class ReplayError(ValueError):
    """Files that cannot serve as a recording: missing, empty, malformed or contradicting each other."""


class NotRecordedError(NoReplyError):
    """No recorded response for this prompt; the message says which recording was searched."""

    category = NOT_RECORDED


def is_replay(name: str) -> bool:
    return name.startswith(PREFIX)


def resolve(name: str) -> tuple[Path, ...]:
    """The files a `replay/PATH` model reads, sorted; a clear `ReplayError` when there are none."""
    patterns = name.removeprefix(PREFIX).split(os.pathsep)
    if not all(pattern.strip() for pattern in patterns):
        raise ReplayError(
            "a replay model names its recordings: replay/FILE, replay/FOLDER or replay/GLOB, "
            "several joined by ':'"
        )
    return tuple(sorted({file for pattern in patterns for file in _files(pattern)}))


def _files(pattern: str) -> list[Path]:
    path = Path(pattern).expanduser()
    if glob.has_magic(pattern):
        files = [Path(p) for p in glob.glob(str(path), recursive=True)]
        files = [p for p in files if p.is_file() and p.suffix.lower() in SUFFIXES]
    elif path.is_dir():
        files = [p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES]
    elif path.is_file():
        if path.suffix.lower() not in SUFFIXES:
            raise ReplayError(
                f"{pattern}: replay reads Wu et al.'s .tsv transcripts and SolverLab's items .csv exports"
            )
        files = [path]
    else:
        raise ReplayError(f"{pattern}: no such file or folder (relative paths start at {Path.cwd()})")
    if not files:
        raise ReplayError(f"{pattern}: no .tsv or .csv file there")
    return files


@dataclass(frozen=True)
class Recording:
    files: tuple[Path, ...]
    replies: dict[str, str]  # prompt key -> recorded response

    def reply(self, messages: Messages) -> str | None:
        return self.replies.get(prompt_key(messages))


def prompt_key(messages: Messages) -> str:
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


def load(files: tuple[Path, ...]) -> Recording:
    """Every record of the files; two different responses to one prompt are a `ReplayError` naming both."""
    replies: dict[str, str] = {}
    places: dict[str, str] = {}
    for path in files:
        for messages, response, place in _records(path):
            key = prompt_key(messages)
            if key not in replies:
                replies[key] = response
                places[key] = place
            elif replies[key] != response:
                prompt = messages[-1].get("content", "") if messages else ""
                raise ReplayError(
                    f"two different recorded responses to one prompt: {places[key]} and {place}; keep "
                    f"one recording per prompt (prompt: {_preview(prompt)})"
                )
    return Recording(files, replies)


def _records(path: Path) -> Iterator[tuple[Messages, str, str]]:
    if path.suffix.lower() == ".tsv":
        try:
            transcripts = read_wu_tsv(path)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReplayError(f"{path}: not a Wu et al. transcript: {exc}") from None
        for number, record in enumerate(transcripts, 1):
            yield [{"role": "user", "content": record.prompt}], record.response, f"{path}:{number}"
    else:
        yield from _items_csv_records(path)


def _items_csv_records(path: Path) -> Iterator[tuple[Messages, str, str]]:
    import pandas as pd  # only CSV recordings need pandas

    from lab.results.export import restore_cell

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ReplayError(f"{path}: not a SolverLab items CSV: {exc}") from None
    missing = [name for name in ("messages", "response") if name not in table.columns]
    if missing:
        raise ReplayError(
            f"{path}: no {' or '.join(missing)} column; export the run again "
            "(python -m lab export RUN --csv FILE) to get the calls' messages and responses"
        )
    errors = table["error"] if "error" in table.columns else [""] * len(table)
    for number, (messages_cell, response, error) in enumerate(
        zip(table["messages"], table["response"], errors, strict=True), 2
    ):
        if not messages_cell or restore_cell(error) == NOT_RECORDED:
            continue  # an item with no call, or one a replayed run could not answer
        place = f"{path}: row {number}"
        try:
            messages = json.loads(restore_cell(messages_cell))
        except json.JSONDecodeError as exc:
            raise ReplayError(f"{place}: messages is not JSON ({exc})") from None
        if not isinstance(messages, list) or not all(isinstance(m, dict) for m in messages):
            raise ReplayError(f"{place}: messages is not a JSON list of chat messages")
        # A conversation's earlier replies (refinement, the oracle's turns) answer its earlier prompts.
        for turn, message in enumerate(messages):
            if message.get("role") == "assistant":
                yield messages[:turn], str(message.get("content", "")), place
        yield messages, restore_cell(response), place


def _preview(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


_LOCK = threading.Lock()
_FILES: dict[str, tuple[Path, ...]] = {}  # model name -> its files, fixed by `check`
_RECORDINGS: dict[tuple[tuple[str, int, int], ...], Recording] = {}


def recording(name: str, *, refresh: bool = False) -> Recording:
    """The model's recording, loaded once per set of files and modification times."""
    with _LOCK:
        files = _FILES.get(name)
        if files is None or refresh:
            files = _FILES[name] = resolve(name)
        try:
            stamp = tuple((str(path), *_version(path)) for path in files)
        except OSError as exc:
            _FILES.pop(name, None)
            where = name.removeprefix(PREFIX)
            raise ReplayError(f"{where}: cannot read {exc.filename}: {exc.strerror}") from None
        found = _RECORDINGS.get(stamp)
        if found is None:
            if len(_RECORDINGS) >= 16:
                _RECORDINGS.clear()
            found = _RECORDINGS[stamp] = load(files)
        return found


def _version(path: Path) -> tuple[int, int]:
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


def check(name: str) -> Recording:
    """Before a run: the files exist, load without conflicts and hold at least one record."""
    found = recording(name, refresh=True)
    if not found.replies:
        shown = ", ".join(str(p) for p in found.files[:3]) + (", ..." if len(found.files) > 3 else "")
        raise ReplayError(f"{shown}: no recorded responses in these files")
    return found


def reply(name: str, messages: Messages) -> str:
    """The recorded response to exactly these messages; `NotRecordedError` when there is none."""
    found = recording(name)
    text = found.reply(messages)
    if text is None:
        raise NotRecordedError(f"no recorded response to this prompt in {name.removeprefix(PREFIX)}")
    return text


def display_label(model: str) -> str:
    """A short name for a model in charts: Wu et al.'s recordings (arithmetic, spatial, syntax) by the
    model they recorded, other recordings by their file name (or glob); any other model as it is."""
    parts = _RUN_SUFFIX.fullmatch(model)
    assert parts is not None  # the pattern matches every string
    name, suffix = parts["name"], parts["suffix"] or ""
    if not is_replay(name):
        return model
    path = PurePath(name.removeprefix(PREFIX).split(os.pathsep)[0])
    recorded = _wu_recorded(path)
    if recorded is None:
        return f"{path.name} (recorded){suffix}"
    label, cot = recorded
    return f"{label} (recorded{', CoT' if cot else ''}){suffix}"


def _wu_recorded(path: PurePath) -> tuple[str, bool] | None:
    """The model a Wu et al. file (or glob) recorded, and whether with chain of thought."""
    syntax = _WU_SYNTAX_FILE.fullmatch(path.name)
    if syntax:
        return syntax["model"], syntax["variant"] == "cot"
    wu = _WU_FILE.fullmatch(path.name)
    folder = path.parent.name
    if wu and wu["model"] in WU_MODELS and (folder in WU_VARIANTS or folder == _WU_CHECK_FOLDER):
        return WU_MODELS[wu["model"]], WU_VARIANTS.get(folder, False)
    return None


@dataclass(frozen=True)
class RecordedModel:
    """A ready-made replay model for the app: `name` goes into the plan, `label` is what a user reads."""

    name: str
    label: str
    cot: bool


def transcripts_folder() -> Path | None:
    """`$SOLVERLAB_TRANSCRIPTS`, else `../shared/anchors` beside the checkout when it exists."""
    configured = os.environ.get(TRANSCRIPTS_ENV)
    folder = Path(configured).expanduser() if configured else DEFAULT_TRANSCRIPTS
    return folder.resolve() if folder.is_dir() else None


def _has_recordings(where: Path, prefix: str) -> bool:
    return bool(glob.glob(os.path.join(glob.escape(str(where)), f"{glob.escape(prefix)}_base*.tsv")))


def recorded_models(folder: Path | None = None) -> list[RecordedModel]:
    """Wu et al.'s zero-shot arithmetic recordings found in the transcripts folder, with the same
    model's comprehension checks (layout: `counterfactual-evaluation/arithmetic/model_interactions/`
    `0shot/<with_0cot|without_0cot>/<model>_base<B>.tsv` and `ccc/<model>_base<B>.tsv`)."""
    folder = folder or transcripts_folder()
    if folder is None:
        return []
    found = []
    checks = folder / WU_CHECKS
    for variant, cot in WU_VARIANTS.items():
        where = folder / WU_ZERO_SHOT / variant
        for prefix in WU_MODELS:
            if not _has_recordings(where, prefix):
                continue
            name = f"{PREFIX}{where / prefix}_base*.tsv"
            if _has_recordings(checks, prefix):  # the comprehension check asks the same either way
                name += f"{os.pathsep}{checks / prefix}_base*.tsv"
            found.append(RecordedModel(name, display_label(name), cot))
    return found


class ReplayProvider(Provider):
    """`replay/PATH`: answers from recordings; no key, no network, and never from the store's cache
    (the current files are what a replay must answer from)."""

    cacheable = False
    takes_server = False
    deterministic = True  # a recording gives the same reply every time

    @classmethod
    def accepts(cls, name: str) -> bool:
        return is_replay(name)

    def check(self) -> None:
        try:
            check(self.spec.name)
        except ReplayError as exc:
            raise ModelUnavailableError(f"{self.spec.label}: {exc}") from None

    def complete(
        self,
        messages: Messages,
        params: CallParams,
        *,
        retry: RetryPolicy = DEFAULT_RETRY,
        should_stop: Callable[[], bool] = lambda: False,
    ) -> Completion:
        start = time.monotonic()
        try:
            text = reply(self.spec.name, messages)
        except ReplayError as exc:  # the files went missing or changed into something unreadable
            raise ModelCallError("replay", str(exc), False) from None
        return Completion(
            text, prompt_tokens=0, completion_tokens=0, cost=0.0, latency=time.monotonic() - start
        )

    def describe(self, environ: Mapping[str, str] = os.environ) -> str:
        return (
            f"recorded responses from `{self.spec.name.removeprefix(PREFIX)}`; no key, no network; "
            f"a prompt that was not recorded is scored wrong as `{NOT_RECORDED}`"
        )

    def label(self) -> str:
        return display_label(self.spec.name)

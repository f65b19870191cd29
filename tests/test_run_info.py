"""What a run says beside its progress: the time left, whether a repeat gives the same replies, and whether
it is the quick smoke test; and how the embedded engine's streamed reply is put together."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab import api
from lab.models import DEFAULT_MODEL, ModelSpec
from lab.models import embedded as local_model
from lab.run import study
from lab.run.determinism import VERSIONS_KEY, recorded_determinism
from lab.run.eta import RATE_WINDOW_SECONDS, ProgressSample, eta_seconds, format_duration
from lab.run.plan import RunPlan

# ---------------------------------------------------------------- the time left


def test_the_time_left_is_the_items_left_at_the_recent_rate() -> None:
    samples = [ProgressSample(100.0, 10), ProgressSample(110.0, 15), ProgressSample(120.0, 20)]
    assert eta_seconds(samples, total=50) == pytest.approx(30 * 20 / 10)  # 0.5 items a second, 30 left
    # Progress older than the window does not count: only the last two samples set the rate here.
    old = [ProgressSample(0.0, 0), ProgressSample(RATE_WINDOW_SECONDS + 50, 1)]
    assert eta_seconds([*old, ProgressSample(RATE_WINDOW_SECONDS + 60, 6)], total=16) == pytest.approx(20.0)


def test_the_time_left_is_unknown_until_items_are_scored_and_zero_at_the_end() -> None:
    assert eta_seconds([], total=10) is None
    assert eta_seconds([ProgressSample(5.0, 3)], total=10) is None
    assert eta_seconds([ProgressSample(5.0, 3), ProgressSample(9.0, 3)], total=10) is None
    assert eta_seconds([ProgressSample(5.0, 10)], total=10) == 0.0


def test_a_stall_makes_the_time_left_grow() -> None:
    moving = [ProgressSample(0.0, 0), ProgressSample(10.0, 10)]
    stalled = [*moving, ProgressSample(30.0, 10)]
    assert eta_seconds(stalled, total=20) > eta_seconds(moving, total=20)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.2, "1 s"), (44.6, "45 s"), (61, "1 min"), (719, "12 min"), (11_100, "3 h 05 min")],
)
def test_durations_read_as_precisely_as_an_estimate_deserves(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_the_app_reads_the_time_left_through_the_api() -> None:
    samples = [api.ProgressSample(0.0, 0), api.ProgressSample(60.0, 10)]
    assert api.eta_text(samples, 130) == "about 12 min left"
    assert api.eta_text(samples[:1], 130) is None
    assert api.eta_text([api.ProgressSample(1.0, 130)], 130) == "done"


# ---------------------------------------------------------------- reproducible replies


def planned(db_path: Path, plan: RunPlan) -> tuple[study.Store, str]:
    store = study.Store(db_path)
    return store, study.prepare_run(store, plan)


def test_a_run_on_the_embedded_model_at_temperature_0_records_reproducible_replies(db_path: Path) -> None:
    store, run_id = planned(
        db_path, RunPlan(models=(ModelSpec(DEFAULT_MODEL),), probes=("cipher",), modes=("deductive",))
    )
    determinism = api.run_determinism(store, run_id)
    assert determinism.recorded and determinism.promised and determinism.temperature == 0.0
    assert json.loads(study.get_run(store, run_id).versions[VERSIONS_KEY])["unpromised"] == []
    assert api.determinism_note(store, run_id) is None


def test_a_server_s_replies_and_sampled_replies_are_recorded_as_not_reproducible(db_path: Path) -> None:
    server = ModelSpec("openai/some-model", api_base="http://127.0.0.1:9/v1")
    store, run_id = planned(
        db_path, RunPlan(models=(ModelSpec(DEFAULT_MODEL), server), probes=("cipher",), modes=("deductive",))
    )
    determinism = api.run_determinism(store, run_id)
    assert not determinism.promised and determinism.unpromised == (server.label,)
    note = api.determinism_note(store, run_id)
    assert note is not None and server.label in note and "even at temperature 0" in note

    sampled = RunPlan(
        models=(ModelSpec(DEFAULT_MODEL),), probes=("cipher",), modes=("deductive",), temperature=0.7, seed=3
    )
    store, run_id = planned(db_path.with_name("sampled.db"), sampled)
    assert api.run_determinism(store, run_id).unpromised == (ModelSpec(DEFAULT_MODEL).label,)
    assert "temperature 0.7" in (api.determinism_note(store, run_id) or "")


def test_a_run_stored_before_determinism_was_recorded_says_so() -> None:
    old = recorded_determinism({"python": "3.11.7"})
    assert not old.recorded and not old.promised
    assert "stored before" in (study.determinism_note(old) or "")


# ---------------------------------------------------------------- the smoke test


def test_the_quick_study_is_labelled_a_smoke_test_and_nothing_else_is() -> None:
    note = api.smoke_test_note(api.quick_plan())
    assert note is not None and "smoke test" in note and "4 held-out cases" in note
    larger = RunPlan.from_dict({**api.quick_plan().to_dict(), "n": 50})
    assert api.smoke_test_note(larger) is None


# ---------------------------------------------------------------- the embedded engine's streamed reply


def chunk(content: str | None = None, finish: str | None = None, **extra: object) -> dict[str, object]:
    delta = {} if content is None else {"content": content}
    return {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}], "created": 7, **extra}


def test_a_streamed_reply_is_put_together_as_a_whole_one() -> None:
    stream = local_model._ReplyStream(lambda: False)
    chunks = [
        {"choices": [{"index": 0, "delta": {"role": "assistant", "content": None}, "finish_reason": None}]},
        chunk("The sum"),
        chunk(" is 12."),
        chunk(finish="length"),
        {"choices": [], "usage": {"prompt_tokens": 30, "completion_tokens": 3}},
    ]
    assert not any(stream.take(c) for c in chunks)
    reply = stream.reply()
    assert reply["choices"][0]["message"]["content"] == "The sum is 12."
    assert reply["choices"][0]["finish_reason"] == "length"
    assert reply["usage"] == {"prompt_tokens": 30, "completion_tokens": 3}


def test_a_stream_stops_when_asked_and_gives_no_reply() -> None:
    asked = []
    stream = local_model._ReplyStream(lambda: len(asked) >= 2)
    for text in ("a", "b", "c"):
        asked.append(text)
        if stream.take(chunk(text)):
            break
    assert asked == ["a", "b"]
    with pytest.raises(local_model.EngineCancelledError, match="cancelled"):
        stream.reply()


def test_a_stream_that_ends_in_an_error_raises_it_with_its_code() -> None:
    stream = local_model._ReplyStream(lambda: False)
    assert stream.take({"error": {"code": 400, "message": "the prompt is too long"}})
    with pytest.raises(local_model.EngineRequestError, match="the prompt is too long") as failed:
        stream.reply()
    assert failed.value.status_code == 400

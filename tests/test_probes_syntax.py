"""The word-order probe: Wu et al.'s main task and check, reconstruction as a variant, all orders."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from executor import run_solver
from lab.tasks.modes import MODES, Reply
from lab.tasks.prompts import build_messages
from probes import Case, syntax
from tests.wu_solvers import syntax_solver_source

FAMILY = syntax.FAMILY
ORDERS = ["svo", "sov", "vso", "vos", "osv", "ovs"]
PHRASES = ["word", "det"]


def written_in(order: str, subject: str, verb: str, obj: str) -> str:
    """The test's own reordering: place the constituents as `order` says."""
    slots = {"s": subject, "v": verb, "o": obj}
    return " ".join(slots[letter] for letter in order) + "."


def split_svo(sentence: str, phrase: str) -> tuple[str, str, str]:
    assert not sentence.endswith(".")
    words = sentence.split(" ")
    size = 1 if phrase == "word" else 2
    assert len(words) == 2 * size + 1
    return " ".join(words[:size]), words[size], " ".join(words[size + 1 :])


def noun_phrase(phrase: str, role: str) -> st.SearchStrategy[str]:
    if phrase == "word":
        return st.sampled_from(syntax.NAMES_AS_SUBJECTS if role == "s" else syntax.NAMES_AS_OBJECTS)
    nouns = syntax.NOUNS_AS_SUBJECTS if role == "s" else syntax.NOUNS_AS_OBJECTS
    return st.builds(
        lambda det, noun: f"{det} {noun}", st.sampled_from(syntax.DETERMINERS), st.sampled_from(nouns)
    )


def test_vocabulary_is_large_enough_and_unambiguous() -> None:
    assert len(syntax.VERBS) >= 10
    for subjects, objects in [
        (syntax.NAMES_AS_SUBJECTS, syntax.NAMES_AS_OBJECTS),
        (syntax.NOUNS_AS_SUBJECTS, syntax.NOUNS_AS_OBJECTS),
    ]:
        assert len(set(subjects)) >= 20 and len(set(objects)) >= 20
    nouns = {
        *syntax.NAMES_AS_SUBJECTS,
        *syntax.NAMES_AS_OBJECTS,
        *syntax.NOUNS_AS_SUBJECTS,
        *syntax.NOUNS_AS_OBJECTS,
    }
    words = nouns | set(syntax.VERBS) | set(syntax.DETERMINERS)
    assert all(word.isalpha() and word.islower() for word in words)
    assert not nouns & set(syntax.VERBS)
    assert not nouns & set(syntax.DETERMINERS)
    assert not set(syntax.VERBS) & set(syntax.DETERMINERS)
    # "a" stays grammatical: no determiner-phrase noun starts with a vowel sound letter.
    assert not [n for n in {*syntax.NOUNS_AS_SUBJECTS, *syntax.NOUNS_AS_OBJECTS} if n[0] in "aeiou"]


@pytest.mark.parametrize("phrase", PHRASES)
@pytest.mark.parametrize("order", ORDERS)
def test_cases_are_reorderings_of_distinct_subject_and_object(order: str, phrase: str) -> None:
    setting = FAMILY.setting(order=order, phrase=phrase, task="reconstruct")
    assert setting.default_world == (order == "svo")
    cases = FAMILY.cases(setting, 40, seed=11)
    main = FAMILY.setting(order=order, phrase=phrase, task="main")
    for case in cases:
        subject, verb, obj = split_svo(case.output, phrase)
        assert syntax.solve(main, case.input) == f"{verb} {subject.split()[-1]}"
        assert verb in syntax.VERBS
        assert subject.split()[-1] != obj.split()[-1]
        assert written_in(order, subject, verb, obj) == case.input
        assert case.input == case.input.lower()
        assert FAMILY.normalise(case.output) == case.output


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_solve_inverts_every_order(data: st.DataObject) -> None:
    order = data.draw(st.sampled_from(ORDERS), label="order")
    phrase = data.draw(st.sampled_from(PHRASES), label="phrase")
    subject = data.draw(noun_phrase(phrase, "s"), label="subject")
    verb = data.draw(st.sampled_from(syntax.VERBS), label="verb")
    obj = data.draw(noun_phrase(phrase, "o"), label="object")
    setting = FAMILY.setting(order=order, phrase=phrase, task="reconstruct")
    sentence = written_in(order, subject, verb, obj)
    assert syntax.solve(setting, sentence) == f"{subject} {verb} {obj}"
    assert syntax.parse(setting, sentence) == (subject, verb, obj)
    assert syntax.solve(setting, "  " + sentence.upper().replace(" ", "  ")) == f"{subject} {verb} {obj}"
    assert FAMILY.comprehension.solve(setting, sentence) == f"{subject} {verb} {obj}."
    # Back again: the module's own reordering agrees with the test's.
    assert syntax.reorder(order, subject, verb, obj) == sentence


@pytest.mark.parametrize(
    ("spec", "text", "message"),
    [
        ({"order": "osv"}, "emily bob jumps.", "unknown verb 'jumps'.*known verbs: sees"),
        ({"order": "svo"}, "bob calls.", "expected 3 words"),
        ({"order": "svo"}, "bob calls zorg.", "unknown noun 'zorg'"),
        ({"order": "sov", "phrase": "det"}, "the cat every dog sees.", "unknown determiner 'every'"),
        ({"order": "vso", "phrase": "det"}, "sees the cat a dog", None),
    ],
)
def test_solve_parses_by_vocabulary(spec: dict, text: str, message: str | None) -> None:
    setting = FAMILY.setting(**spec, task="reconstruct")
    if message is None:
        assert syntax.solve(setting, text) == "the cat sees a dog"
    else:
        with pytest.raises(ValueError, match=message):
            syntax.solve(setting, text)


@pytest.mark.parametrize(
    ("answer", "normal"),
    [
        ("Bob  calls Emily", "bob calls emily"),
        ("bob calls emily..", "bob calls emily"),
        (" bob calls emily . ", "bob calls emily"),
        ("bob calls emily!", "bob calls emily!"),
        # Wu et al.'s main-task scorer accepts "saw tim", "saw, tim" and "saw - tim".
        ("Saw, Tim.", "saw tim"),
        ("saw - tim", "saw tim"),
        ("", ""),
    ],
)
def test_normalise(answer: str, normal: str) -> None:
    assert syntax.normalise(answer) == normal


def test_rule_describes_the_order_and_the_task() -> None:
    rule = FAMILY.rule(FAMILY.setting(order="osv"))
    assert "object-subject-verb order (OSV)" in rule
    assert "the object comes first, then the subject, then the verb" in rule
    assert "main verb, then the main subject" in rule
    assert "subject-verb-object order (SVO)" in FAMILY.rule(FAMILY.setting(order="osv", task="reconstruct"))
    assert "determiner" in FAMILY.rule(FAMILY.setting(order="osv", phrase="det"))
    assert not any(order in FAMILY.task.lower() for order in ORDERS)


# Wu et al.'s templates (their syntax/prompts.py), for sov.
WU_MAIN = (
    "You are an expert in linguistics. Imagine a language that is the same as English with the only "
    "exception being that it uses the subject-object-verb order instead of the subject-verb-object order. "
    "Your task is to identify the main verb and the main subject in a sentence in this imaginary language.\n"
    "Show the main verb (a single word) and its subject (also a single word) after the prefix 'Main verb "
    "and subject: '.\nSentence: tim lucas saw.\n"
)
WU_RECONSTRUCT = (
    "You are an expert in linguistics. Imagine a language that is the same as English only except that it "
    "uses the subject-object-verb order instead of the subject-verb-object order. Your task is to "
    "reconstruct the original sentence in English. You should only use the words in the same form as "
    "they appear in the given sentence.\nSentence: tim lucas saw.\n"
)


def test_the_main_task_is_posed_in_wu_et_al_s_words() -> None:
    setting = FAMILY.setting(order="sov")
    assert build_messages(setting, "deductive", query="tim lucas saw.")[0]["content"] == WU_MAIN
    cot = build_messages(setting, "deductive", query="tim lucas saw.", cot=True)[0]["content"]
    assert cot == WU_MAIN + "Let's think step by step. "
    english = build_messages(FAMILY.setting(order="svo"), "deductive", query="tim saw lucas.")[0]["content"]
    assert english.startswith(
        "You are an expert in linguistics. Your task is to identify the main verb and the main subject in "
        "an English sentence.\nShow the main verb"
    )


def test_the_reconstruction_variant_and_the_check_use_wu_et_al_s_reconstruct_template() -> None:
    std = WU_RECONSTRUCT + "Show the original sentence the prefix 'Original sentence: '.\n"
    cot = (
        WU_RECONSTRUCT
        + "Let's think step by step. Show the original sentence at the end with the prefix "
        + "'Original sentence: '.\n"
    )
    for setting in (FAMILY.setting(order="sov"), FAMILY.setting(order="sov", task="reconstruct")):
        assert build_messages(setting, "ccc", query="tim lucas saw.")[0]["content"] == std
        assert build_messages(setting, "ccc", query="tim lucas saw.", cot=True)[0]["content"] == cot
    variant = FAMILY.setting(order="sov", task="reconstruct")
    assert build_messages(variant, "deductive", query="tim lucas saw.")[0]["content"] == std
    svo = build_messages(FAMILY.setting(order="svo"), "ccc", query="tim saw lucas.")[0]["content"]
    assert svo == "Sentence: tim saw lucas.\nShow the original sentence the prefix 'Original sentence: '.\n"


@pytest.mark.parametrize(
    ("reply", "correct"),
    [
        ("The verb is saw.\nMain verb and subject: saw tim", True),
        ("Main verb and subject: Saw, Tim.", True),
        ("Main verb and subject: saw - tim", True),
        ("Main verb and subject: tim saw", False),  # both words, in Wu et al.'s order
        ("Main verb and subject: saw lucas", False),
        ("So the answer is \\boxed{saw tim}", True),  # no prefix: the usual reading
        ("I cannot tell.", False),
    ],
)
def test_main_task_answers_are_scored_on_both_words(reply: str, correct: bool) -> None:
    setting = FAMILY.setting(order="sov")
    case = Case("tim lucas saw.", syntax.solve(setting, "tim lucas saw."))
    assert case.output == "saw tim"
    assert MODES["deductive"].score(Reply(FAMILY, setting, case, reply)).correct is correct


@pytest.mark.parametrize(
    ("reply", "correct"),
    [
        ("Original sentence: Tim saw Lucas.", True),
        ('Thinking...\nOriginal sentence: "tim saw lucas."', True),
        ("Original sentence: Tim saw Lucas", False),  # Wu et al. keep the final period
        ("Original sentence: Tim saw Lucas.\nHope this helps.", False),  # only the last line counts
        ("Tim saw Lucas.", True),  # no prefix: the whole last line
    ],
)
def test_check_answers_are_read_and_compared_as_wu_et_al_do(reply: str, correct: bool) -> None:
    setting = FAMILY.setting(order="sov")
    case = Case("tim lucas saw.", FAMILY.comprehension.solve(setting, "tim lucas saw."))
    assert MODES["ccc"].score(Reply(FAMILY, setting, case, reply)).correct is correct


def test_wu_et_al_s_names_are_read_but_never_drawn() -> None:
    setting = FAMILY.setting(order="sov", task="reconstruct")
    assert syntax.solve(setting, "emma john saw.") == "emma saw john"
    drawn = {word for case in FAMILY.cases(setting, 300, seed=0) for word in case.input.rstrip(".").split()}
    assert not drawn & set(syntax.NAMES_ALSO_READ)


@pytest.mark.parametrize("task", syntax.TASKS)
def test_a_correct_solver_solves_both_tasks_in_the_sandbox(task: str) -> None:
    for order in ORDERS:
        setting = FAMILY.setting(order=order, phrase="det", task=task)
        cases = FAMILY.cases(setting, 10, seed=4)
        report = run_solver(syntax_solver_source(setting), [case.input for case in cases])
        assert report.verdict is None, report.detail
        assert [r.output for r in report.results] == [case.output for case in cases]

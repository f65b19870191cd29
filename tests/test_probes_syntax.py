"""The word-order probe: reordering and its inverse for all six orders and both phrase kinds."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes import syntax

FAMILY = syntax.FAMILY
ORDERS = ["svo", "sov", "vso", "vos", "osv", "ovs"]
PHRASES = ["word", "det"]


def written_in(order: str, subject: str, verb: str, obj: str) -> str:
    """The test's own reordering: place the constituents as `order` says."""
    slots = {"s": subject, "v": verb, "o": obj}
    return " ".join(slots[letter] for letter in order) + "."


def split_svo(sentence: str, phrase: str) -> tuple[str, str, str]:
    assert sentence.endswith(".") and not sentence.endswith("..")
    words = sentence[:-1].split(" ")
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
    setting = FAMILY.setting(order=order, phrase=phrase)
    assert setting.default_world == (order == "svo")
    cases = FAMILY.cases(setting, 40, seed=11)
    for case in cases:
        subject, verb, obj = split_svo(case.output, phrase)
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
    setting = FAMILY.setting(order=order, phrase=phrase)
    sentence = written_in(order, subject, verb, obj)
    assert syntax.solve(setting, sentence) == f"{subject} {verb} {obj}."
    assert syntax.parse(setting, sentence) == (subject, verb, obj)
    assert syntax.solve(setting, "  " + sentence.upper().replace(" ", "  ")) == f"{subject} {verb} {obj}."
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
    setting = FAMILY.setting(**spec)
    if message is None:
        assert syntax.solve(setting, text) == "the cat sees a dog."
    else:
        with pytest.raises(ValueError, match=message):
            syntax.solve(setting, text)


@pytest.mark.parametrize(
    ("answer", "normal"),
    [
        ("Bob  calls Emily", "bob calls emily."),
        ("bob calls emily..", "bob calls emily."),
        (" bob calls emily . ", "bob calls emily."),
        ("bob calls emily!", "bob calls emily!."),
        ("", ""),
    ],
)
def test_normalise(answer: str, normal: str) -> None:
    assert syntax.normalise(answer) == normal


def test_rule_describes_the_order() -> None:
    rule = FAMILY.rule(FAMILY.setting(order="osv"))
    assert "object-subject-verb order (OSV)" in rule
    assert "the object comes first, then the subject, then the verb" in rule
    assert "determiner" in FAMILY.rule(FAMILY.setting(order="osv", phrase="det"))
    assert not any(order in FAMILY.task.lower() for order in ORDERS)

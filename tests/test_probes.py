"""What every probe family promises: deterministic distinct cases, stable prefixes, clear spec errors."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes import REGISTRY, Case, ProbeError, get_family, parse_spec

STANDARD = [setting for family in REGISTRY.values() for setting in family.standard_settings()]
EXTRA = [
    *parse_spec("arithmetic:base=36,digits=4"),
    *parse_spec("syntax:order=vos,phrase=det"),
    *parse_spec("syntax:order=ovs,task=reconstruct"),
    *parse_spec("cipher:cipher=caesar,shift=25"),
]
SETTINGS = STANDARD + EXTRA
IDS = [setting.spec for setting in SETTINGS]


def test_registry_has_the_three_families() -> None:
    assert {"arithmetic", "cipher", "listfn", "syntax"} <= set(REGISTRY)
    for name, family in REGISTRY.items():
        assert family.name == name and family.description and family.task
        worlds = [setting.default_world for setting in family.standard_settings()]
        assert worlds[0] and worlds.count(True) == 1, name
        assert family.default_setting().default_world


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(SETTINGS), st.integers(0, 2**32), st.integers(0, 60))
def test_cases_are_deterministic_distinct_and_prefix_stable(setting, seed: int, n: int) -> None:
    family = get_family(setting.family)
    cases = family.cases(setting, n, seed)
    assert len(cases) == n
    assert family.cases(setting, n, seed) == cases
    assert len({case.input for case in cases}) == n
    assert family.cases(setting, n // 2, seed) == cases[: n // 2]
    for case in cases:
        assert family.solve(setting, case.input) == case.output
        assert family.normalise(case.output) == case.output


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
def test_seeds_change_the_cases(setting) -> None:
    family = get_family(setting.family)
    assert family.cases(setting, 10, 1) != family.cases(setting, 10, 2)


@pytest.mark.parametrize("setting", SETTINGS, ids=IDS)
def test_generation_uses_only_its_own_random_stream(setting) -> None:
    family = get_family(setting.family)
    random.seed(1234)
    state = random.getstate()
    first = family.cases(setting, 5, 9)
    assert random.getstate() == state
    random.seed(99)
    assert family.cases(setting, 5, 9) == first


# Known values: the same on every machine and Python version. They change only when a generator,
# its data files (word list, vocabulary) or the seeding in probes/base.py changes -- which alters
# every stored run's cases, so such a change must be deliberate.
KNOWN = {
    "arithmetic:base=16,digits=2": [("CF+7E", "14D"), ("44+8A", "CE"), ("48+F6", "13E")],
    "arithmetic:base=9,digits=4": [("3076+6581", "10667"), ("2654+2632", "5386"), ("5534+2434", "8068")],
    "syntax:order=osv,phrase=det,task=reconstruct": [
        ("this garden the rabbit watched.", "the rabbit watched this garden"),
        ("this bottle this child finds.", "this child finds this bottle"),
        ("this tree the sailor knew.", "the sailor knew this tree"),
    ],
    "syntax:order=vso,phrase=word,task=main": [
        ("met ben mia.", "met ben"),
        ("loves anna paul.", "loves anna"),
        ("found mia jim.", "found mia"),
    ],
    "cipher:cipher=keyboard": [
        ("dyoaa svtpdd", "still across"),
        ("zivj gohitr trvptf", "much figure record"),
        ("dohjy gpit tsvr", "sight four race"),
    ],
    "cipher:cipher=caesar,shift=13": [("jvaqbj", "window"), ("whqtr", "judge"), ("yvxr unir", "like have")],
}


@pytest.mark.parametrize("spec", sorted(KNOWN))
def test_known_cases(spec: str) -> None:
    [setting] = parse_spec(spec)
    assert setting.spec == spec
    family = get_family(setting.family)
    assert family.cases(setting, 3, 42) == [Case(i, o) for i, o in KNOWN[spec]]


@pytest.mark.parametrize(
    ("spec", "label"),
    [
        ("arithmetic:base=8", "base=8,digits=2"),
        ("Arithmetic: digits = 3 , base = 16", "base=16,digits=3"),
        ("syntax:order=OSV", "order=osv,phrase=word,task=main"),
        ("syntax:phrase=det,order=vso,task=reconstruct", "order=vso,phrase=det,task=reconstruct"),
        # Former spatial world names read as the world with the same direction vectors.
        ("spatial:world=rotate90", "world=r270"),
        ("spatial:world=Standard", "world=default"),
        ("cipher:shift=3", "cipher=caesar,shift=3"),
        ("cipher:cipher=keyboard", "cipher=keyboard"),
    ],
)
def test_labels_are_canonical(spec: str, label: str) -> None:
    [setting] = parse_spec(spec)
    assert setting.label == label


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("algebra", "no probe family 'algebra'; valid: arithmetic, cipher, (.+, )?syntax"),
        ("arithmetic:bse=8", "no parameter 'bse'; valid: base, digits"),
        ("arithmetic:base=40", "valid: 2..36"),
        ("arithmetic:base=eight", "takes a whole number.*valid: 2..36"),
        ("arithmetic:digits=5", "valid: 2, 3, 4"),
        ("syntax:order=xyz", "valid: svo, sov, vso, vos, osv, ovs"),
        ("syntax:phrase=noun", "valid: word, det"),
        ("syntax:task=translate", "valid: main, reconstruct"),
        ("spatial:world=rotate45", "valid: default, hflip, vflip, r90, r180, r270, random"),
        ("cipher:cipher=vigenere", "valid: caesar, atbash, keyboard"),
        ("cipher:shift=26", "valid: 1..25"),
        ("cipher:cipher=atbash,shift=3", "'shift' does not apply"),
        ("arithmetic:base", "write key=value"),
    ],
)
def test_bad_specs_name_the_valid_choices(spec: str, message: str) -> None:
    with pytest.raises(ProbeError, match=message):
        parse_spec(spec)


def test_negative_n_is_an_error() -> None:
    family = get_family("syntax")
    with pytest.raises(ProbeError):
        family.cases(family.default_setting(), -1, 0)

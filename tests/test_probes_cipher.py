"""The cipher probe: encryption and decryption as inverses for every cipher and shift."""

from __future__ import annotations

import codecs
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes import ProbeError, cipher, parse_spec

FAMILY = cipher.FAMILY
LOWER = string.ascii_lowercase
ALL_SETTINGS = [{"cipher": "caesar", "shift": shift} for shift in range(1, 26)] + [
    {"cipher": "atbash"},
    {"cipher": "keyboard"},
]
TEXT = st.lists(st.text(LOWER, min_size=1, max_size=10), min_size=1, max_size=4).map(" ".join)


def encrypt_independently(params: dict, plaintext: str) -> str:
    if params["cipher"] == "caesar":
        shift = params["shift"]
        table = str.maketrans(LOWER, LOWER[shift:] + LOWER[:shift])
    elif params["cipher"] == "atbash":
        table = str.maketrans(LOWER, LOWER[::-1])
    else:
        table = str.maketrans("qwertyuiopasdfghjklzxcvbnm", "wertyuiopqsdfghjklaxcvbnmz")
    return plaintext.translate(table)


def test_word_list() -> None:
    assert len(cipher.WORDS) >= 300
    assert len(set(cipher.WORDS)) == len(cipher.WORDS)
    assert all(3 <= len(word) <= 8 and set(word) <= set(LOWER) for word in cipher.WORDS)


@pytest.mark.parametrize("params", ALL_SETTINGS, ids=lambda p: ",".join(f"{k}={v}" for k, v in p.items()))
def test_cases_are_encrypted_common_words(params: dict) -> None:
    setting = FAMILY.setting(**params)
    words = set(cipher.WORDS)
    for case in FAMILY.cases(setting, 30, seed=5):
        plain = case.output.split(" ")
        assert 1 <= len(plain) <= 3 and set(plain) <= words
        assert encrypt_independently(params, case.output) == case.input
        assert FAMILY.normalise(case.output) == case.output


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(ALL_SETTINGS), TEXT)
def test_encrypt_and_decrypt_are_inverses(params: dict, plaintext: str) -> None:
    setting = FAMILY.setting(**params)
    ciphertext = cipher.encrypt(setting, plaintext)
    assert ciphertext == encrypt_independently(params, plaintext)
    assert cipher.decrypt(setting, ciphertext) == plaintext
    assert cipher.encrypt(setting, cipher.decrypt(setting, plaintext)) == plaintext
    assert cipher.solve(setting, ciphertext.upper()) == plaintext


@settings(deadline=None)
@given(TEXT)
def test_rot13_is_the_familiar_world(plaintext: str) -> None:
    setting = FAMILY.default_setting()
    assert setting.default_world and setting.label == "cipher=caesar,shift=13"
    assert cipher.solve(setting, codecs.encode(plaintext, "rot13")) == plaintext


def test_keyboard_wraps_each_row() -> None:
    setting = FAMILY.setting(cipher="keyboard")
    assert cipher.encrypt(setting, "p l m q a z") == "q a z w s x"
    assert cipher.decrypt(setting, "q a z") == "p l m"


def test_settings_carry_only_meaningful_parameters() -> None:
    labels = [s.label for s in parse_spec("cipher")]
    assert labels[0] == "cipher=caesar,shift=13"
    assert "cipher=atbash" in labels and "cipher=keyboard" in labels
    assert len(set(labels)) == len(labels)
    assert [s.default_world for s in parse_spec("cipher")].count(True) == 1
    [atbash] = parse_spec("cipher:cipher=atbash")
    assert atbash.spec == "cipher:cipher=atbash" and not atbash.default_world
    assert FAMILY.setting(**atbash.as_dict()) == atbash
    with pytest.raises(ProbeError, match="'shift' does not apply to cipher:cipher=atbash"):
        parse_spec("cipher:cipher=atbash,shift=3")


def test_solve_rejects_non_letters() -> None:
    with pytest.raises(ValueError, match="lower-case letters"):
        cipher.solve(FAMILY.default_setting(), "abc1")


def test_rules_name_the_cipher_and_task_names_none() -> None:
    assert "shift 3" in FAMILY.rule(FAMILY.setting(cipher="caesar", shift=3))
    assert "a -> d" in FAMILY.rule(FAMILY.setting(cipher="caesar", shift=3))
    assert "Atbash" in FAMILY.rule(FAMILY.setting(cipher="atbash"))
    assert "QWERTY" in FAMILY.rule(FAMILY.setting(cipher="keyboard"))
    task = FAMILY.task.lower()
    assert not any(word in task for word in ("caesar", "atbash", "keyboard", "shift", "cipher"))


@pytest.mark.parametrize(
    ("answer", "normal"), [("Hello  World", "hello world"), (" cat ", "cat"), ("cat.", "cat.")]
)
def test_normalise(answer: str, normal: str) -> None:
    assert cipher.normalise(answer) == normal

"""Wu et al.'s own answer extractors for arithmetic, re-expressed for item-by-item comparison.

`ZhaofengWu/counterfactual-evaluation`, `arithmetic/eval.py` (`parse_output`, the zero-shot
items) and `arithmetic/eval_ccc.py` (the comprehension check): a cascade of regular expressions
tried in order, the first that matches giving the answer. The patterns and their order are
theirs (facts about the published figures); the code around them is ours. Their scorer stops
with an assertion on a reply no pattern reads; here that is `WuParseError`.

`true_response` undoes the `unicode_escape` coding of the `.tsv` files (their `query_utils`),
and `deductive_input` / `check_input` apply what their query scripts' output files and readers
do to a reply before `parse_output` sees it.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FAILED = "FAILED"

# Replies they inspected by hand and scored as unreadable (md5 of the reply).
_UNREADABLE_MD5 = frozenset(
    {
        "0267dd217f1113115fb6f3b153283b83",
        "4478c070ba4ebe9060ccae5ebddeb8f6",
        "a537ca828e3dff11d10753f74134010f",
        "55933b16d40dccd1199d0671482ec960",
        "e26b39f212819f5739d19051c1d3b21e",
        "9bb23232dc65280f461b1bba330a960a",
        "a82d3eb490e8ddca43f0bb46edc587b8",
        "6a87d66ef89bb2f3d17e7779f36a3ff2",
        "68243259c3ffaba3dbd62fae99a1b689",
        "b15f475eaaad7bf0e254918750002324",
        "cc82693381ddaa0979da50b8cee32082",
        "8fcc76799dad7ba51a1a4cd02c849bed",
        "c91f6a1d1dc9e91bf15378dc2c207248",
        "0b4d4df6a744bc4fb0ddb69793b67d60",
        "1ecb49ec5333156eba065a70a69d5efc",
        "b2df0d9158be4d82dc3f812c7a403a47",
        "a31fd50a7c9e1620c8cb511ebdf041dd",
        "994f97c948375bb89f45346b31cd7bf7",
        "6ca030b0b24ed40f88e1cf42db5d8b93",
        "ab300b02620e60602b174d52dd3ec09e",
        "c2f7e1a264e4eae6d3d034c8ef4432eb",
        "53d49c7fd2799c5c6449a3020a404361",
        "14f1378f3f7e1be155317605697fde74",
        "58282b7d853231ad7a5a37a577f6a8c2",
        "19c965b140175302beb18fb566c06939",
        "3583a68a86427ef11f20e164d33fd006",
        "d8bbe43f7fb1d9b4b6a655dd20aa1d23",
        "4de5e5445c844335d8098e9847903889",
        "d45cf6954f87323678c0f47514349c2a",
        "1fde4babb19a93a0af31f3a9f9a5e645",
        "f07e20efe5ef914020b1962990ac48f0",
        "95a46931beb496b8c04c24082d952a00",
        "8f116a7ba36e392792e8668b2f641d4f",
        "2d231802949da23ab5f5f9b778ea81f9",
        "46bd572da6adc4f891b1534078b20e6b",
        "ab55e2c6bac7d73cd87c0913e7ffe0c6",
        "b4eafe115130250406f3630cbc5ba5d5",
        "40c77f9b43e92001ae977ce6cc5dfa98",
        "3cf6fad2af9ce5c27e2abb9cdb5e63e3",
        "d8168ea95e291ba079bfb2c9ea4e4e30",
        "8b26bf8becaee39b7f56660aa4a5a0ec",
        "0661df39efc8f2a77d2c2dadbbe39d7a",
        "201e59248822a9c5984bd01403e06177",
        "5b444ece945fbbd3260fe25ff9232a3e",
        "d1db0ef79aeba1a714e25e5402d74e28",
        "33081d317d2547f1175e353f28442792",
        "76ef7104b97af74b14585fe5ef082618",
        "d52056254520506638b89e61532cec80",
        "451ba82c35bb7835caac094d1affd093",
        "72b0b49b20bc3ba28004a14ce94c0d89",
        "0038bbd24746105fa154de52006aaae4",
        "96db9c84993c6e485b5f6a45d88d5fcf",
        "29ce648edc6f5b33ec4315d192e532b3",
        "92bd2c3932ee7e01a46213b9218154a0",
        "e8d1445cf01e0d2dd0ef4857475f9528",
        "f8e1328d36163e2c3ac36aaf63130c58",
        "7900721d925513fdaeec12fd88230f2c",
        "6459d879ca07fbe22545fe29976e96d4",
        "902f087878add0f9e760e6d3aa56e69c",
        "9199727fbc9843e6cc7537b29f05d138",
        "96a692745c21eb162e9482fa06e4192a",
        "02a6fd1da2506ad1c98e8ed716b68359",
        "258f2a7388b4d7d8b86dd9501623de0d",
        "480ae09abb178e622a7582ea2f1d0dde",
        "fa11b3828ff7901471234343c3861bc0",
        "61cd671db57d7c75a6dbdfe0939b9541",
        "0c4c08579d1d4afacc3910428888f2a3",
        "c1b62fdc1b5bc27377da727bea1b0cd4",
        "bc7a49bed4f9869672677e7ab885e367",
        "adf0da2234d7eefd570fc7f1c1b5391a",
        "781ef72018b55b1d429cb89bcdbd6b8b",
        "a1de3f70fdbf6624789159ec6ee8b5ea",
        "4fba0afa1b5e74d007bdff47de5ae996",
        "244b131beeaa24a42b3bc6c4b899b51d",
        "dd5d50f44e23f59d0b7a74cad9051f52",
        "c990c9d4659392a836f52ea224b89fc8",
        "96b7759758d5df3753bace3d7c017d3a",
        "2ae1cfd27e6df1028598ac795aee70f7",
        "16f497b5e37135539f546974b05bcff8",
        "1d77e3ac72ed59e6406fe1e57ca29916",
        "255b179c9081fcae153cb8e1e1231aa2",
        "6c35cc432877a694576e5e9c3ca3228f",
        "38d1fe38f10aee369185c55867f83849",
        "e8568dbe24718ce1020f301a61fadf93",
        "2b9dadbaf8773cfbf079997d4f2e28a9",
        "f6a5c3ed0f984148b7b48edf16da7814",
        "f4e168d4a713cccafebb267c0bb0526a",
        "235d60039a512d03935600899871af7f",
        "2188b1c96a4d9b5b9ffb4956de6a5d03",
        "570c9295e6540f479e24740852b46b2d",
        "09ae9ecc577e2dfd79fcc1790766a667",
        "16326828425040499900c22e034b949b",
        "566310b60cb17ab00c844b9b687fe2f6",
        "bd74dd52f0ae7d397506743792f19405",
        "c5b35fbb4e8c43f32db40c54780b541f",
        "44a5bbd958d3f756a77aee0e59e8399f",
    }
)


class WuParseError(ValueError):
    """No pattern of the cascade reads the reply (their scorer stops here)."""


@dataclass(frozen=True)
class Rule:
    """One step of a cascade: search `pattern` in the text named by `where`, answer `groups()[group]`."""

    pattern: str
    group: int
    where: str = "output"  # or "last_sentence"
    squeeze: bool = False  # drop spaces from the answer


_BOXED = (
    r"boxed{(\\text{)?(result=)?([0-9A-Z]+(_{?[0-9]+}?)?\s*\+\s*[0-9A-Z]+(_{?[0-9]+}?)?\s*=\s*)?(0x)?"
    r"([0-9A-Za-f \\.]+)(_ ?{?(base-)?([0-9]+|ten)}?)?}?(_{?([0-9]+|ten)}?)?}"
)
_THEN_SUM = (
    r"\s+((\n|[ 0-9A-Z*^])+(\+(\n|[ 0-9A-Z*^])+)+(=|-+|_+)\s*)*([0-9A-Z]+)\s*(\(?(in )?base-[0-9]+\)?)?"
    r"(, which [^,.]+)?(\s*\([^()]+\))?\.?$"
)

# After the boxed look-ups, before the single `X + Y = Z` look-up of the last sentence.
_DEDUCTIVE_EARLY = (
    Rule(
        r"\\boxed{[0-9A-Z]+}(_{?[0-9]+}?)?\s*\+\s*\\boxed{[0-9A-Z]+}(_{?[0-9]+}?)?\s*=\s*"
        r"\\boxed{([0-9A-Z]+)}(_{?[0-9]+}?)?\.?$",
        -2,
        "last_sentence",
    ),
    Rule(r"\\boxed{([0-9A-Z]+)_{?[0-9]+}?\s*=\s*[0-9A-Z]+_{?10}?}\$?\.?$", 0, "last_sentence"),
    Rule(
        r"\$?[0-9A-Z]+(_{?[0-9]+}?)\s*\+\s*[0-9A-Z]+(_{?[0-9]+}?)\s*=\s*(0x)?([0-9A-Z]+)(_{?[0-9]+}?)\$?"
        r"( in base-[0-9]+)?\.?$",
        -3,
    ),
    Rule(
        r"(=|is):?\s*\$?\\boxed{(0x)?([0-9A-Z]+)}\$? \(?in base-[0-9]+\)?,?( and| or| =) "
        r"\$?\\boxed{(0x)?[0-9A-Z]+}\$? \(?in (base-10|decimal)\)?\.?$",
        2,
    ),
    Rule(
        r"(=|is):?\s*\$?\\boxed{(0x)?[0-9A-Z]+}\$? \(?in (base-10|decimal)\)?,?( and| or| =) "
        r"\$?\\boxed{(0x)?([0-9A-Z]+)}\$? \(?in base-[0-9]+\)?\.?$",
        -1,
    ),
    Rule(r"\\boxed{[0-9A-Z]+}_\{10\}\$? which in base-[0-9]+ is \$?\\boxed{(0x)?([0-9A-Z]+)}\$?\.?$", -1),
    Rule(r"[0-9]+\s*\+\s*[0-9]+\s*=\s*([0-9A-Z]+)\\boxed\{\}\.?$", -1),
    Rule(r"\\boxed{result}\s*(\n|=)?\s*([0-9A-Z+*^. ]+=\s*)?([0-9A-Z.]+)\$?\.?\**}?$", -1),
    Rule(r"\\boxed{result: ([0-9A-Z]+)}$", 0),
)

# After the single `X + Y = Z` look-up.
_DEDUCTIVE_LATE = (
    Rule(r"\n([0-9A-Z]+)$", -1),
    Rule(
        r" in base-[0-9]+ is (equal to )?\"?(0x)?([0-9A-Z]+)\"?( base-[0-9]+)?(, (or|since) [^.]+)?"
        r"( \([^()]+\))?\.$",
        -5,
    ),
    Rule(r" in base-[0-9]+: \$?([0-9A-Z]+)\$?\.$", -1),
    Rule(r" the base-[0-9]+ sum: ([0-9A-Z]+)\.$", -1),
    Rule(r"the result in base-[0-9]+ is ([0-9A-Z]+), which is equal to [0-9 *^+()]+\.$", 0),
    Rule(r"the sum of [0-9A-Z]+ and [0-9A-Z]+ (in base-[0-9]+ )?(is|as):?" + _THEN_SUM, -5),
    Rule(r"the result of [0-9A-Z]+\s*\+\s*[0-9A-Z]+ (in base-[0-9]+ )?(is|as):?" + _THEN_SUM, -5),
    Rule(
        r"[0-9A-Z]+\s*\+\s*[0-9A-Z]+( in base-[0-9]+)?,? (which )?(equals|is equal to|as):? "
        r"\$?([0-9A-Z]+)\$?(, written as [0-9A-Z]+)?\.?$",
        -2,
    ),
    Rule(
        r"in base-10 is \$?[0-9]+\$?,? (which )?(equals|is equal to|as):? \$?([0-9A-Z]+)\$?"
        r"(, written as [0-9A-Z]+)?\.?$",
        -2,
    ),
    Rule(r"[0-9A-Z]+\s*\+\s*[0-9A-Z]+\s*=\s*([0-9A-Z]+)( in base-[0-9]+)?\.?$", -2),
    Rule(r"we can simply write the result as ([0-9A-Z]+)\.?$", -1),
    Rule(r"which can be written as ([0-9A-Z]+)\.?$", -1),
    Rule(r"(which gives|giving) us the( base-[0-9]+)? number ([0-9A-Z]+)\.?$", -1),
    Rule(r"the final result is simply the sum of the tens and ones places: ([0-9A-Z]+)\.?$", -1),
    Rule(r"the result is simply the combination of these two sums: ([0-9A-Z]+)\.?$", -1),
    Rule(
        r"we have ([0-9A-Z]+) in base-[0-9]+ as the (final answer for|result of|sum of) "
        r"[0-9A-Z]+ (\+|and) [0-9A-Z]+\.$",
        0,
    ),
    Rule(
        r"we (have|get|end up with) ([0-9A-Z]+)( in base-[0-9]+)? as the( final)? (result|answer|sum)"
        r"( in base-[0-9]+)?\.$",
        1,
    ),
    Rule(r"(=| is) \"?([0-9A-Z]+)\"?\s*(\s+\(?(in )?base-[0-9]+\)?)?\.?$", 1),
    Rule(
        r"( final)?( base-[0-9]+)? (result|answer|sum)( in base-[0-9]+)?( is)?( simply)?( of)?( as)?:?"
        + _THEN_SUM,
        -5,
    ),
    Rule(r"we get:" + _THEN_SUM, -5),
    Rule(r"we can add the two numbers in base-[0-9]+:" + _THEN_SUM, -5),
    Rule(r"[tT]he combination of these sums:\s+([0-9A-Z]+)(\(in base-[0-9]+\))?\.?$", -2),
    Rule(r"(Result|Answer)( is)?:?\s+([0-9A-Z]+)\.?$", -1),
    Rule(r"The decimal equivalent of \$?([0-9A-Z]+)\$? is therefore \$?[0-9A-Z]+\$?\.?$", 0),
    Rule(
        r"(T|t)he final (result|answer) is:?\s+([0-9A-Z ]+\s*\+\s*[0-9A-Z ]+\s*(=|-+)+\s*)?([0-9A-Z ]+)"
        r"(\(in base-[0-9]+\))?\.?\**$",
        -2,
        squeeze=True,
    ),
    Rule(r" in base-[0-9]+ is (equal to )?\"?(0x)?([0-9A-Z ]+)\"?(, or [^,.]+)?\.$", -2, squeeze=True),
    Rule(r"( |(\n))([0-9A-Z]+) \(?in base-[0-9]+\)?\.$", -1),
)

_CHECK = (
    Rule(r"\n([0-9A-Z]+ \+ [0-9A-Z]+ = )?([0-9A-Z]+)( \(?(in )?base-[0-9]+\)?)?\.?$", -3),
    Rule(r"^([0-9A-Z]+ \+ [0-9A-Z]+ = )?([0-9A-Z]+)( \(?(in )?base-[0-9]+\)?)?\.?$", -3),
    Rule(r"(would be|is|as)( therefore)?:?\s*([0-9]+\. )?([0-9A-Z]+ \+ [0-9A-Z]+ = )?([0-9A-Z]+)\.?$", -1),
    Rule(r"in base-[0-9]+:?\s+([0-9]+\. )?([0-9A-Z]+)\.?$", -1),
    Rule(
        r"(written as|is|would be|the number) ([0-9A-Z]+)( \(?(in )?base-[0-9]+\)?)?"
        r"(, which is (equal|equivalent) to [0-9A-Z +*=^]+( in (decimal|base-[0-9]+))?)?\.$",
        -7,
    ),
    Rule(r"\n[0-9]+\. ([0-9A-Z]+)\.?$", -1),
    Rule(r"(([0-9A-Z]+\+1=)?[0-9A-Z]+(, |\n))+([0-9A-Z]+\+1=)?([0-9A-Z]+)\n*\.*$", -1),
    Rule(r"(answer|result): ([0-9A-Z]+)\.?$", -1),
    Rule(r"\.\.\. ([0-9A-Z]+)\.?$", -1),
    Rule(r"(T|t)he next number after [0-9A-Z]+( in base-[0-9]+)? is:?\s*([0-9A-Z]+)(,| \()", -2),
)
_CHECK_ENDINGS = (", with each digit incremented as needed.", "End of response.")


def _first(rules: tuple[Rule, ...], texts: dict[str, str]) -> str | None:
    for rule in rules:
        match = re.search(rule.pattern, texts[rule.where])
        if match is not None:
            answer = match.groups()[rule.group]
            return answer.replace(" ", "") if rule.squeeze else answer
    return None


def _one_boxed_value(text: str) -> str | None:
    """The boxed value when every box in `text` holds the same one (spaces and backslashes dropped)."""
    values = {match[-6].replace(" ", "").replace("\\", "") for match in re.findall(_BOXED, text)}
    return values.pop() if len(values) == 1 else None


def wu_deductive_answer(output: str) -> str:
    """`eval.py`'s `parse_output`: the answer it reads, or FAILED."""
    if not output or hashlib.md5(output.encode("utf-8")).hexdigest() in _UNREADABLE_MD5:
        return FAILED
    output = output.replace(",", "").replace("С", "C")  # a Cyrillic capital Es
    if re.search("^[0-9A-Z]+$", output):
        return output
    output = output.rstrip("\n$ `").replace("\\text{", "")
    last_sentence = output.rstrip(" .").split(".")[-1]
    for text in (output, output.split("\n")[-1], last_sentence):
        boxed = _one_boxed_value(text)
        if boxed is not None:
            return boxed
    texts = {"output": output, "last_sentence": last_sentence}
    answer = _first(_DEDUCTIVE_EARLY, texts)
    if answer is not None:
        return answer
    sums = re.findall(r"[0-9A-Z]+\s*\+\s*[0-9A-Z]+\s*=\s*(0x)?([0-9A-Z]+)", last_sentence)
    if len(sums) == 1:
        return sums[0][1]
    answer = _first(_DEDUCTIVE_LATE, texts)
    if answer is None:
        raise WuParseError(f"no pattern of eval.py reads {output!r}")
    return answer


def wu_check_answer(output: str) -> str:
    """`eval_ccc.py`'s `parse_output`: the answer it reads."""
    for ending in _CHECK_ENDINGS:
        output = output.removesuffix(ending)
    output = output.rstrip()
    if re.search("^[0-9A-Z]+$", output):
        return output
    answer = _first(_CHECK, {"output": output})
    if answer is None:
        raise WuParseError(f"no pattern of eval_ccc.py reads {output!r}")
    return answer


def wu_label(expression: str, base: int) -> str:
    """`eval.py`'s `get_label`: the sum of `X+Y` in the base, upper case."""
    left, right = expression.split("+")
    return np.base_repr(int(left, base) + int(right, base), base)


def true_response(field: str) -> str:
    """A `.tsv` response field decoded as their `query_utils` wrote it (`unicode_escape`)."""
    return codecs.decode(field.encode("ascii"), "unicode_escape")


def deductive_input(response: str) -> str:
    """What `eval.py` parses: `query.py` escapes the reply into one line, `eval.py` strips the line
    of spaces and reads it back with its own `unescape`, which turns a backslash before an
    escaped newline into a literal backslash-n (as the published figures were computed)."""
    line = (
        response.replace("\\n", "\\\\n")
        .replace("\n", "\\n")
        .replace("\\r", "\\\\r")
        .replace("\r", "\\r")
        .strip("\n ")
    )
    placeholder = "<TMP>"
    return (
        line.replace("\\\\n", placeholder)
        .replace("\\n", "\n")
        .replace(placeholder, "\\n")
        .replace("\\\\r", placeholder)
        .replace("\\r", "\r")
        .replace(placeholder, "\\r")
    )


def check_input(response: str) -> str:
    """What `eval_ccc.py` parses: newlines escaped, the line stripped, `\\n` read back as newlines."""
    return response.replace("\n", "\\n").rstrip().replace("\\n", "\n")


@dataclass(frozen=True)
class Recorded:
    """One recorded reply: the file's raw response field decoded, and the question's operand(s)."""

    query: str
    response: str


def read_recorded(path: Path) -> list[Recorded]:
    """Every line of a recorded `.tsv`: the query (`X+Y`, or N of a check) and the true response."""
    records = []
    for line in path.read_text(encoding="ascii").splitlines():
        prompt, response = line.split("\t")[:2]
        if "next number after " in prompt:
            query = prompt.split("next number after ", 1)[1].split("?", 1)[0]
        else:
            query = prompt.split("what is ", 1)[1].split("?", 1)[0]
        records.append(Recorded(query, true_response(response)))
    return records

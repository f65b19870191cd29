"""Program induction over lists of integers, after Rule et al.'s List Functions and Case2Code.

Each setting is one hidden function from a list of integers to a list of integers, e.g. `reverse`,
`keep_even`, `running_sum`, `sort_by_last_digit`. Inputs and outputs are written exactly as
Python writes a list of ints: `[1, 2, 3]`, the empty list `[]`.

This family has no counterfactual world in Wu et al.'s sense. Its familiar default world is
`sort` (ascending): the list function most often written and seen, of which `sort_descending`,
`sort_by_last_digit` and `sort_by_digit_sum` are unfamiliar variants. Every other function counts
as a counterfactual world.

Adding a function is one entry in `FUNCTIONS`: its name, difficulty (easy / medium / hard), a
reference implementation, the English rule stated by the deductive prompts, and optionally the
length and value ranges its inputs are drawn from (so that cases are meaningful, e.g. duplicates
are common for `remove_duplicates`).
"""

from __future__ import annotations

import itertools
import random
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from probes.base import PaperFraming, Parameter, ParamValue, ProbeError, ProbeFamily, Setting

DIFFICULTIES = ("easy", "medium", "hard")
DEFAULT_FUNCTION = "sort"

_INTEGER = re.compile(r"0|-?[1-9][0-9]*")


@dataclass(frozen=True)
class ListFunction:
    """One hidden function, its rule in English and the inputs it is shown on."""

    name: str
    difficulty: str
    apply: Callable[[list[int]], list[int]]
    description: str
    min_length: int = 0
    max_length: int = 10
    max_value: int = 99


def _digits(number: int) -> list[int]:
    return [int(char) for char in str(abs(number))]


def _interleave_halves(xs: list[int]) -> list[int]:
    middle = (len(xs) + 1) // 2
    first, second = xs[:middle], xs[middle:]
    out: list[int] = []
    for index, value in enumerate(first):
        out.append(value)
        if index < len(second):
            out.append(second[index])
    return out


def _local_maxima(xs: list[int]) -> list[int]:
    out = []
    for index, value in enumerate(xs):
        neighbours = xs[max(index - 1, 0) : index] + xs[index + 1 : index + 2]
        if all(value > other for other in neighbours):
            out.append(value)
    return out


def _remove_largest(xs: list[int]) -> list[int]:
    if not xs:
        return []
    index = xs.index(max(xs))
    return xs[:index] + xs[index + 1 :]


def _take_while_even(xs: list[int]) -> list[int]:
    return list(itertools.takewhile(lambda value: value % 2 == 0, xs))


def _count_occurrences(xs: list[int]) -> list[int]:
    counts = Counter(xs)
    return [counts[value] for value in xs]


def _swap_pairs(xs: list[int]) -> list[int]:
    out = list(xs)
    for index in range(0, len(xs) - 1, 2):
        out[index], out[index + 1] = xs[index + 1], xs[index]
    return out


FUNCTIONS: tuple[ListFunction, ...] = (
    # easy
    ListFunction("reverse", "easy", lambda xs: xs[::-1], "The output is the input list in reverse order."),
    ListFunction(
        "sort",
        "easy",
        sorted,
        "The output holds the input's numbers sorted in ascending order (repeated numbers are all kept).",
    ),
    ListFunction(
        "sort_descending",
        "easy",
        lambda xs: sorted(xs, reverse=True),
        "The output holds the input's numbers sorted in descending order (repeated numbers are all kept).",
    ),
    ListFunction(
        "drop_first_two",
        "easy",
        lambda xs: xs[2:],
        "The output is the input without its first two elements (a list of fewer than two elements "
        "gives []).",
    ),
    ListFunction(
        "take_first_three",
        "easy",
        lambda xs: xs[:3],
        "The output is the first three elements of the input, in order (a shorter list is output whole).",
        min_length=2,
    ),
    ListFunction(
        "drop_last",
        "easy",
        lambda xs: xs[:-1],
        "The output is the input without its last element ([] gives []).",
    ),
    ListFunction(
        "add_three",
        "easy",
        lambda xs: [x + 3 for x in xs],
        "The output adds 3 to each element, keeping the order.",
    ),
    ListFunction(
        "double",
        "easy",
        lambda xs: [2 * x for x in xs],
        "The output multiplies each element by 2, keeping the order.",
    ),
    ListFunction(
        "keep_even",
        "easy",
        lambda xs: [x for x in xs if x % 2 == 0],
        "The output keeps only the even numbers (0 counts as even), in their original order; "
        "if there are none, it is [].",
    ),
    ListFunction(
        "keep_odd",
        "easy",
        lambda xs: [x for x in xs if x % 2 == 1],
        "The output keeps only the odd numbers, in their original order; if there are none, it is [].",
    ),
    ListFunction(
        "keep_above_fifty",
        "easy",
        lambda xs: [x for x in xs if x > 50],
        "The output keeps only the numbers greater than 50 (50 itself is dropped), in their original "
        "order; if there are none, it is [].",
    ),
    ListFunction(
        "first_element",
        "easy",
        lambda xs: xs[:1],
        "The output is a list holding only the first element of the input ([] gives []).",
    ),
    ListFunction(
        "last_element",
        "easy",
        lambda xs: xs[-1:],
        "The output is a list holding only the last element of the input ([] gives []).",
    ),
    ListFunction(
        "length",
        "easy",
        lambda xs: [len(xs)],
        "The output is a list holding one number: how many elements the input has ([] gives [0]).",
    ),
    ListFunction(
        "sum",
        "easy",
        lambda xs: [sum(xs)],
        "The output is a list holding one number: the sum of the input's elements ([] gives [0]).",
    ),
    ListFunction(
        "max",
        "easy",
        lambda xs: [max(xs)] if xs else [],
        "The output is a list holding one number: the largest element of the input ([] gives []).",
    ),
    ListFunction(
        "min",
        "easy",
        lambda xs: [min(xs)] if xs else [],
        "The output is a list holding one number: the smallest element of the input ([] gives []).",
    ),
    ListFunction(
        "append_seven",
        "easy",
        lambda xs: [*xs, 7],
        "The output is the input with the number 7 added at the end.",
    ),
    ListFunction(
        "last_digits",
        "easy",
        lambda xs: [_digits(x)[-1] for x in xs],
        "The output replaces each element by its last decimal digit, keeping the order (47 -> 7, "
        "5 -> 5; for a negative number, the last digit of its absolute value).",
    ),
    ListFunction(
        "duplicate_each",
        "easy",
        lambda xs: [x for x in xs for _ in range(2)],
        "The output repeats each element twice in place: [a, b] gives [a, a, b, b].",
    ),
    ListFunction(
        "mirror",
        "easy",
        lambda xs: xs + xs[::-1],
        "The output is the input followed by the input in reverse order: [a, b] gives [a, b, b, a].",
    ),
    # medium
    ListFunction(
        "rotate_left",
        "medium",
        lambda xs: xs[1:] + xs[:1],
        "The output moves the first element to the end: [a, b, c] gives [b, c, a] (a list of fewer "
        "than two elements is unchanged).",
        min_length=2,
    ),
    ListFunction(
        "rotate_right",
        "medium",
        lambda xs: xs[-1:] + xs[:-1],
        "The output moves the last element to the front: [a, b, c] gives [c, a, b] (a list of fewer "
        "than two elements is unchanged).",
        min_length=2,
    ),
    ListFunction(
        "swap_first_last",
        "medium",
        lambda xs: xs[-1:] + xs[1:-1] + xs[:1] if len(xs) > 1 else list(xs),
        "The output swaps the first and the last element and leaves the others in place (a list of "
        "fewer than two elements is unchanged).",
        min_length=2,
    ),
    ListFunction(
        "remove_duplicates",
        "medium",
        lambda xs: list(dict.fromkeys(xs)),
        "The output keeps the first occurrence of each number and drops its later repeats; the kept "
        "elements stay in their original order.",
        min_length=4,
        max_value=9,
    ),
    ListFunction(
        "every_other",
        "medium",
        lambda xs: xs[::2],
        "The output keeps the 1st, 3rd, 5th, ... elements (counting from 1) and drops the others, in order.",
        min_length=1,
    ),
    ListFunction(
        "add_position",
        "medium",
        lambda xs: [x + index for index, x in enumerate(xs)],
        "The output adds to each element its position counting from 0: the first element is unchanged, "
        "1 is added to the second, 2 to the third, and so on.",
        min_length=1,
    ),
    ListFunction(
        "times_position",
        "medium",
        lambda xs: [x * index for index, x in enumerate(xs, start=1)],
        "The output multiplies each element by its position counting from 1: the first element is "
        "unchanged, the second is doubled, the third tripled, and so on.",
        min_length=1,
    ),
    ListFunction(
        "differences",
        "medium",
        lambda xs: [b - a for a, b in itertools.pairwise(xs)],
        "The output lists, for each element after the first, that element minus the one before it "
        "([a, b, c] gives [b-a, c-b]), so it is one element shorter than the input; a list of fewer "
        "than two elements gives [].",
        min_length=1,
    ),
    ListFunction(
        "pairwise_sums",
        "medium",
        lambda xs: [a + b for a, b in itertools.pairwise(xs)],
        "The output lists the sum of each pair of neighbouring elements ([a, b, c] gives [a+b, b+c]), "
        "so it is one element shorter than the input; a list of fewer than two elements gives [].",
        min_length=1,
    ),
    ListFunction(
        "keep_greater_than_first",
        "medium",
        lambda xs: [x for x in xs[1:] if x > xs[0]],
        "The output keeps, in their original order, the elements after the first one that are "
        "strictly greater than the first element; the first element itself is dropped ([] gives []).",
        min_length=1,
    ),
    ListFunction(
        "sort_unique",
        "medium",
        lambda xs: sorted(set(xs)),
        "The output holds each distinct number of the input once, sorted in ascending order.",
        max_value=19,
    ),
    ListFunction(
        "take_while_even",
        "medium",
        _take_while_even,
        "The output keeps the elements from the start of the input up to, not including, the first odd "
        "number (0 counts as even); it is [] if the first element is odd or the input is empty, and the "
        "whole input if no element is odd.",
    ),
    ListFunction(
        "remove_largest",
        "medium",
        _remove_largest,
        "The output is the input with the first occurrence of its largest number removed; the other "
        "elements keep their order, including later copies of the largest number ([] gives []).",
        max_value=19,
    ),
    ListFunction(
        "count_even",
        "medium",
        lambda xs: [sum(1 for x in xs if x % 2 == 0)],
        "The output is a list holding one number: how many elements are even (0 counts as even; "
        "[] gives [0]).",
    ),
    ListFunction(
        "zero_odds",
        "medium",
        lambda xs: [0 if x % 2 else x for x in xs],
        "The output replaces every odd number by 0 and keeps the even numbers as they are, in place.",
    ),
    ListFunction(
        "drop_every_third",
        "medium",
        lambda xs: [x for index, x in enumerate(xs, start=1) if index % 3],
        "The output drops the 3rd, 6th, 9th, ... elements (counting from 1) and keeps the others in order.",
        min_length=2,
    ),
    ListFunction(
        "swap_pairs",
        "medium",
        _swap_pairs,
        "The output swaps the 1st and 2nd elements, the 3rd and 4th, and so on ([a, b, c, d] gives "
        "[b, a, d, c]); in a list of odd length the last element stays where it is.",
        min_length=2,
    ),
    ListFunction(
        "remove_adjacent_duplicates",
        "medium",
        lambda xs: [value for value, _ in itertools.groupby(xs)],
        "The output collapses each run of equal neighbouring elements into one element: "
        "[1, 1, 2, 1] gives [1, 2, 1].",
        min_length=4,
        max_value=3,
    ),
    ListFunction(
        "digit_sums",
        "medium",
        lambda xs: [sum(_digits(x)) for x in xs],
        "The output replaces each element by the sum of its decimal digits, keeping the order (47 -> 11, "
        "5 -> 5; a negative number's digits are those of its absolute value).",
    ),
    # hard
    ListFunction(
        "running_sum",
        "hard",
        lambda xs: list(itertools.accumulate(xs)),
        "The output holds running totals: its k-th element is the sum of the first k elements of the "
        "input ([a, b, c] gives [a, a+b, a+b+c]; [] gives []).",
    ),
    ListFunction(
        "running_max",
        "hard",
        lambda xs: list(itertools.accumulate(xs, max)),
        "The output holds running maxima: its k-th element is the largest of the first k elements of "
        "the input ([] gives []).",
    ),
    ListFunction(
        "sort_by_last_digit",
        "hard",
        lambda xs: sorted(xs, key=lambda x: _digits(x)[-1]),
        "The output sorts the elements in ascending order of their last decimal digit (for a negative "
        "number, that of its absolute value); elements with the same last digit keep their original "
        "relative order (a stable sort).",
        min_length=2,
    ),
    ListFunction(
        "sort_by_digit_sum",
        "hard",
        lambda xs: sorted(xs, key=lambda x: sum(_digits(x))),
        "The output sorts the elements in ascending order of the sum of their decimal digits (for a "
        "negative number, those of its absolute value); elements with the same digit sum keep their "
        "original relative order (a stable sort).",
        min_length=2,
    ),
    ListFunction(
        "interleave_halves",
        "hard",
        _interleave_halves,
        "Split the input into a first half and a second half; when the length is odd, the first half "
        "gets the extra (middle) element. The output alternates between the halves, starting with the "
        "first: 1st of the first half, 1st of the second half, 2nd of the first half, 2nd of the second "
        "half, and so on; for an odd length it ends with the last element of the first half "
        "([1, 2, 3, 4, 5] gives [1, 4, 2, 5, 3]).",
        min_length=3,
    ),
    ListFunction(
        "deinterleave",
        "hard",
        lambda xs: xs[::2] + xs[1::2],
        "The output lists the elements in odd positions (1st, 3rd, 5th, ..., counting from 1) followed "
        "by those in even positions (2nd, 4th, ...), each group in its original order "
        "([1, 2, 3, 4, 5] gives [1, 3, 5, 2, 4]).",
        min_length=3,
    ),
    ListFunction(
        "run_lengths",
        "hard",
        lambda xs: [len(list(run)) for _, run in itertools.groupby(xs)],
        "The output lists, from left to right, the lengths of the runs of equal neighbouring elements "
        "([4, 4, 4, 7, 4] gives [3, 1, 1]; [] gives []).",
        min_length=1,
        max_value=2,
    ),
    ListFunction(
        "count_occurrences",
        "hard",
        _count_occurrences,
        "The output replaces each element by the number of times its value occurs in the whole input "
        "([5, 3, 5] gives [2, 1, 2]).",
        max_value=9,
    ),
    ListFunction(
        "local_maxima",
        "hard",
        _local_maxima,
        "The output keeps, in order, each element that is strictly greater than each of its "
        "neighbours, the elements just before and just after it (the first and last elements have "
        "one neighbour each; the only element of a one-element list has none and is kept); if no "
        "element qualifies, it is [].",
        min_length=3,
    ),
    ListFunction(
        "evens_before_odds",
        "hard",
        lambda xs: [x for x in xs if x % 2 == 0] + [x for x in xs if x % 2],
        "The output lists all even numbers first (0 counts as even) and then all odd numbers, each "
        "group keeping its original order.",
    ),
    ListFunction(
        "keep_above_mean",
        "hard",
        lambda xs: [x for x in xs if x * len(xs) > sum(xs)],
        "The output keeps, in order, the elements strictly greater than the mean (average) of all the "
        "input's elements; if none is (all are equal, or the input is empty), it is [].",
    ),
    ListFunction(
        "reverse_chunks_of_three",
        "hard",
        lambda xs: [x for start in range(0, len(xs), 3) for x in xs[start : start + 3][::-1]],
        "Cut the input into consecutive groups of three from the start (the last group may have one or "
        "two elements); the output reverses the order within each group and keeps the groups in order "
        "([1, 2, 3, 4, 5] gives [3, 2, 1, 5, 4]).",
        min_length=2,
    ),
    ListFunction(
        "repeat_by_value",
        "hard",
        lambda xs: [x for x in xs for _ in range(x)],
        "The output repeats each element, in place, as many times as its value ([2, 0, 3] gives "
        "[2, 2, 3, 3, 3]); 0 and negative numbers disappear.",
        max_length=6,
        max_value=4,
    ),
)

FUNCTIONS_BY_NAME: dict[str, ListFunction] = {function.name: function for function in FUNCTIONS}
DIFFICULTY: dict[str, str] = {function.name: function.difficulty for function in FUNCTIONS}


def functions_by_difficulty(tag: str) -> tuple[str, ...]:
    """The names of the functions tagged `tag` (easy, medium or hard), in table order."""
    if tag not in DIFFICULTIES:
        raise ProbeError(f"no difficulty {tag!r}; valid: {', '.join(DIFFICULTIES)}")
    return tuple(function.name for function in FUNCTIONS if function.difficulty == tag)


def format_list(values: list[int]) -> str:
    """`[1, 2, 3]`, exactly as Python writes a list of ints."""
    return "[" + ", ".join(str(value) for value in values) + "]"


def parse_list(text: str) -> list[int]:
    """The integers of a list written like `[1, 2, 3]` (spaces optional); anything else is an error."""
    stripped = text.strip()
    if not (stripped.startswith("[") and stripped.endswith("]")):
        raise ValueError(f"expected a list of integers written like [1, 2, 3], got {text!r}")
    inner = stripped[1:-1].strip()
    if not inner:
        return []
    items = [item.strip() for item in inner.split(",")]
    bad = [item for item in items if not _INTEGER.fullmatch(item)]
    if bad:
        raise ValueError(
            f"expected a list of integers written like [1, 2, 3], got {text!r} (not an integer: {bad[0]!r})"
        )
    return [int(item) for item in items]


def _function(setting: Setting) -> ListFunction:
    return FUNCTIONS_BY_NAME[str(setting["function"])]


def solve(setting: Setting, text: str) -> str:
    return format_list(_function(setting).apply(parse_list(text)))


def draw(setting: Setting, rng: random.Random) -> str:
    function = _function(setting)
    length = rng.randint(function.min_length, function.max_length)
    return format_list([rng.randint(0, function.max_value) for _ in range(length)])


def rule(setting: Setting) -> str:
    return f"Each input is a list of integers. {_function(setting).description}"


def normalise(answer: str) -> str:
    """Forgive whitespace only: `[ 1,2 ]` becomes `[1, 2]`; `[1 2]` stays wrong."""
    text = " ".join(answer.split())
    text = re.sub(r"\s*,\s*", ", ", text)
    text = re.sub(r"\[\s+", "[", text)
    return re.sub(r"\s+\]", "]", text)


def is_default_world(params: Mapping[str, ParamValue]) -> bool:
    return params["function"] == DEFAULT_FUNCTION


def _parameter_description() -> str:
    groups = "; ".join(f"{tag}: {', '.join(functions_by_difficulty(tag))}" for tag in DIFFICULTIES)
    return f"the hidden list function ({groups})"


FAMILY = ProbeFamily(
    name="listfn",
    description="Hidden functions on lists of integers (sort familiar; reverse, running sums, ... others).",
    parameters=(
        Parameter(
            "function",
            str,
            tuple(FUNCTIONS_BY_NAME),
            DEFAULT_FUNCTION,
            _parameter_description(),
        ),
    ),
    standard=(
        {"function": "sort"},
        {"function": "keep_even"},
        {"function": "remove_duplicates"},
        {"function": "swap_pairs"},
        {"function": "running_sum"},
        {"function": "sort_by_last_digit"},
    ),
    task=(
        "Each input is a list of integers written like [1, 2, 3] (the empty list is []); "
        "the output is a list of integers written the same way, the result of a hidden rule."
    ),
    solve=solve,
    draw=draw,
    rule=rule,
    normalise=normalise,
    is_default_world=is_default_world,
    input_label="Input",
    output_label="Output",
    paper=PaperFraming(
        question=lambda setting, text: (
            "You are asked to apply a function to a list of integers, the function of which is unknown, "
            f"what is the output for {text}?"
        ),
        rule_question=lambda setting, text: f"{rule(setting)} What is the output for {text}?",
        answer=lambda setting, text, output: f"The output for {text} is {output}.",
        arguments=("xs",),
    ),
    worlds=("function",),
)

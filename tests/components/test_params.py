"""Recipe parameters from builder signatures: types, constraints from ``typing.Annotated``,
rules over several parameters, and values quoted in bounded length."""

from __future__ import annotations

from typing import Annotated, Literal

import pytest

from ganlab import Above, AtLeast, AtMost, Choices, Length, Range, params_rule
from ganlab.components.params import (
    ConstraintError,
    builder_params,
    check_value,
    clip,
    quote,
    rule_problem,
)


def builder(
    image_shape: tuple,
    hidden: tuple[Annotated[int, AtLeast(1)], ...] = (8,),
    rate: Annotated[float, Range(0, 1, high_open=True)] = 0.0,
    scale: Annotated[float, Above(0)] | None = None,
    kernel: Annotated[int, Choices(1, 3, 5)] = 3,
    size: Annotated[tuple[int, ...], Length(2)] = (4, 4),
    cap: Annotated[int, AtMost(10), "a note ganlab ignores"] = 1,
    mode: Literal["a", "b"] = "a",
):
    """A builder whose annotations are strings (``from __future__ import annotations``)."""


PARAMS = {p.name: p for p in builder_params(builder, ("image_shape",))}


def test_constraints_show_in_the_type_name():
    assert {name: p.type_name for name, p in PARAMS.items()} == {
        "hidden": "list of int >= 1",
        "rate": "float in [0, 1)",
        "scale": "float > 0 or null",
        "kernel": "int in {1, 3, 5}",
        "size": "list of int of length 2",
        "cap": "int <= 10",
        "mode": "a|b",
    }


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("hidden", [64, 0], "entry 2 of 2: must be >= 1, found 0"),
        ("hidden", [64, "x"], "entry 2 of 2: expected int, found str 'x'"),
        ("rate", 1, "must be in [0, 1), found 1.0"),
        ("rate", -0.5, "must be in [0, 1), found -0.5"),
        ("rate", float("nan"), "must be a finite number, found nan"),
        ("scale", 0, "must be > 0, found 0.0"),
        ("scale", float("inf"), "must be a finite number, found inf"),
        ("scale", "big", "expected float > 0 or null, found str 'big'"),
        ("kernel", 4, "must be one of 1, 3, 5, found 4"),
        ("size", [1, 2, 3], "must have 2 entries, found [1, 2, 3]"),
        ("cap", 11, "must be <= 10, found 11"),
        ("mode", True, "expected one of 'a', 'b', found true"),
    ],
)
def test_values_outside_a_constraint_are_refused(name, value, message):
    with pytest.raises(TypeError) as err:
        PARAMS[name].check(value)
    assert str(err.value) == message


def test_values_inside_are_converted_as_before():
    assert PARAMS["hidden"].check([1, 2]) == (1, 2)
    assert PARAMS["rate"].check(0) == 0.0 and isinstance(PARAMS["rate"].check(0), float)
    assert PARAMS["scale"].check(None) is None and PARAMS["scale"].check(2) == 2.0
    assert PARAMS["size"].check([3, 3]) == (3, 3)


def test_a_constraint_error_is_a_type_error_that_unions_keep():
    with pytest.raises(ConstraintError, match="must be > 0"):
        check_value(Annotated[float, Above(0)] | None, -1)


def test_every_float_refuses_non_finite_values_even_unconstrained():
    for value in (float("inf"), float("-inf"), float("nan"), 10**400):
        with pytest.raises(ConstraintError, match="must be a finite number"):
            check_value(float, value)


def test_every_int_fits_in_64_bits_and_a_declared_range_speaks_first():
    assert check_value(int, 2**63 - 1) == 2**63 - 1
    with pytest.raises(ConstraintError, match="must fit in a 64-bit integer, found 9223372036854775808"):
        check_value(int, 2**63)
    with pytest.raises(ConstraintError, match=r"must be in \[0, 10\], found 1000000000000000000000000000000"):
        check_value(Annotated[int, Range(0, 10)], 10**30)
    with pytest.raises(ConstraintError, match="must fit in a 64-bit integer"):
        check_value(Annotated[int, AtLeast(0)], 10**30)


def test_a_bool_is_not_a_literal_int():
    with pytest.raises(TypeError):
        check_value(Literal[1, 3], True)
    assert check_value(Literal[1, 3], 3) == 3


def test_rules_over_several_parameters():
    @params_rule(lambda p: None if p["a"] < p["b"] else "b must be greater than a")
    def build(a: float = 0.0, b: float = 1.0):
        pass

    def broken_rule(p):
        raise KeyError("x" * 500)

    assert rule_problem(build, {"a": 0.0, "b": 1.0}) is None
    assert rule_problem(build, {"a": 1.0, "b": 1.0}) == "b must be greater than a"
    assert rule_problem(builder, {}) is None  # no rule
    problem = rule_problem(params_rule(broken_rule)(lambda: None), {})
    assert problem.startswith("the component's parameter rule failed: KeyError: ") and len(problem) < 160


def test_quoted_values_are_bounded():
    assert quote("x" * 1000) == "'" + "x" * 78 + "…"
    assert len(quote(list(range(10**6)))) == 80
    shared = [1] * 10
    for _ in range(30):  # 10**30 leaves if expanded: quote must not expand it
        shared = [shared] * 10
    assert len(quote(shared)) == 80
    assert quote(16**50_000) == "<an integer of 60206 digits>"
    assert clip("short") == "short" and clip("y" * 100, 10) == "y" * 9 + "…"

"""The parameter schema: each kind's check gives one line naming the parameter and what it allows,
and the markdown tables of docs/nodes.md render from the tables in code."""

import math

import pytest

from hint_controller.parameter_schema import (
    BOOL, DOUBLE, DOUBLE_ARRAY, INTEGER, INTEGER_ARRAY, NON_NEGATIVE, POSITIVE, STRING, STRING_ARRAY, ParameterSpec,
    Range, check_values, markdown_rows, parameter_error, render_markdown
)

SIGMA = ParameterSpec("sigma", DOUBLE, -1.0, Range(0.0, also=(-1.0,)), "Noise; -1 = the checkpoint's.")
MODE = ParameterSpec("mode", STRING, "", None, "Mode; empty = the default.", choices=("", "zero", "hover"))
PATH = ParameterSpec("path", STRING, None, None, "A file.", non_empty=True)
AXES = ParameterSpec("axes", INTEGER_ARRAY, [0, 1], NON_NEGATIVE, "Axes.", non_empty=True)
FLAG = ParameterSpec("flag", BOOL, True, None, "A switch.")
LIMITS = ParameterSpec("limits", DOUBLE_ARRAY, None, Range(), "Limits of '<joint>' | clipped.")
NAMES = ParameterSpec("names", STRING_ARRAY, ["a"], None, "Names.", choices=("a", "b"))
RATE = ParameterSpec("rate", DOUBLE, 10.0, Range(0.01, 1000.0), "Rate [Hz].")
TIMEOUT = ParameterSpec("timeout", DOUBLE, 0.1, POSITIVE, "Timeout [s].")
COUNT = ParameterSpec("count", INTEGER, 1, Range(1.0), "Count.")


@pytest.mark.parametrize(("spec", "value", "line"), [
    (SIGMA, -0.5, "sigma must be -1 or a finite number >= 0, got -0.5"),
    (SIGMA, math.nan, "sigma must be -1 or a finite number >= 0, got nan"),
    (MODE, "brake", "mode must be one of '', zero, hover, got 'brake'"),
    (MODE, 0, "mode must be one of '', zero, hover, got 0"),
    (PATH, "", "path must be a non-empty string, got ''"),
    (PATH, None, "path must be a non-empty string, got nothing"),
    (AXES, [0, -1], "axes must be a non-empty list of integers, each an integer >= 0, got [0, -1]"),
    (AXES, [0.5], "axes must be a non-empty list of integers, each an integer >= 0, got [0.5]"),
    (AXES, [], "axes must be a non-empty list of integers, each an integer >= 0, got []"),
    (FLAG, 1, "flag must be true or false, got 1"),
    (LIMITS, [1.0, math.inf], "limits must be a list of numbers, each a finite number, got [1.0, inf]"),
    (NAMES, ["a", "c"], "names must be a list of strings, each one of a, b, got ['a', 'c']"),
    (RATE, 0.0, "rate must be a finite number in [0.01, 1000], got 0.0"),
    (TIMEOUT, -1, "timeout must be a finite number > 0, got -1"),
    (COUNT, True, "count must be an integer >= 1, got True"),
])
def test_a_value_outside_what_the_spec_allows_gives_one_line(spec, value, line):
    assert spec.check(value) == line


@pytest.mark.parametrize(("spec", "value"), [
    (SIGMA, -1.0), (SIGMA, 0.0), (SIGMA, 2), (MODE, ""), (MODE, "hover"), (PATH, "a.pt"), (AXES, [3]),
    (FLAG, False), (LIMITS, None), (LIMITS, [-1e9, 1e9]), (NAMES, ["b", "a"]), (COUNT, 7),
])
def test_allowed_values_pass(spec, value):
    assert spec.check(value) is None


def test_a_spec_refuses_a_default_it_does_not_allow_and_a_kind_without_its_range():
    with pytest.raises(ValueError, match="default of rate must be"):
        ParameterSpec("rate", DOUBLE, 0.0, POSITIVE, "Rate.")
    with pytest.raises(ValueError, match="need a range"):
        ParameterSpec("rate", DOUBLE, 1.0, None, "Rate.")
    with pytest.raises(ValueError, match="choices are for strings"):
        ParameterSpec("count", INTEGER, 1, Range(1.0), "Count.", choices=("1",))


def test_check_values_names_the_first_bad_value_and_unknown_names():
    check_values((RATE, COUNT), {"rate": 5, "count": 2})
    with pytest.raises(ValueError, match=r"^count must be an integer >= 1, got 0$"):
        check_values((RATE, COUNT), {"rate": 5.0, "count": 0})
    with pytest.raises(ValueError, match=r"^unknown parameter rte; known: count, rate$"):
        check_values((RATE, COUNT), {"rte": 5.0})


def test_parameter_error_turns_what_only_the_use_of_a_value_finds_into_one_line():
    with pytest.raises(ValueError) as raised, parameter_error("target_states"):
        raise KeyError("names ['c'] not among ['a', 'b']")
    assert str(raised.value) == "target_states: names ['c'] not among ['a', 'b']"
    with pytest.raises(ValueError) as raised, parameter_error("device", RuntimeError):
        raise RuntimeError("Expected one of cpu, cuda\ndevice type at start of device string: gpu")
    assert str(raised.value) == "device: Expected one of cpu, cuda device type at start of device string: gpu"
    with pytest.raises(KeyError), parameter_error("device", RuntimeError):  # other errors pass through
        raise KeyError("x")


def test_markdown_rows_give_name_type_default_allowed_and_meaning():
    assert markdown_rows((SIGMA, PATH, LIMITS, AXES, FLAG, MODE)) == [
        "| parameter | type | default | allowed | meaning |",
        "|---|---|---|---|---|",
        "| `sigma` | double | `-1` | -1 or a finite number >= 0 | Noise; -1 = the checkpoint's. |",
        "| `path` | string | required | a non-empty string | A file. |",
        "| `limits` | double_array | `[]` | a list of numbers, each a finite number | Limits of '&lt;joint>' \\| clipped. |",
        "| `axes` | integer_array | `[0, 1]` | a non-empty list of integers, each an integer >= 0 | Axes. |",
        "| `flag` | bool | `true` | true or false | A switch. |",
        "| `mode` | string | `''` | one of '', zero, hover | Mode; empty = the default. |",
    ]


@pytest.mark.ros  # the table's module imports rclpy
def test_render_markdown_replaces_each_marked_block_and_keeps_the_rest():
    table = "hint_controller.node_main:ros2_control_parameters(policy)"
    text = f"# Title\n\nbefore\n<!-- parameters: {table} -->\n| stale |\n<!-- end parameters -->\nafter\n"
    rendered = render_markdown(text)
    assert rendered.startswith(f"# Title\n\nbefore\n<!-- parameters: {table} -->\n| parameter |")
    assert rendered.endswith("\n<!-- end parameters -->\nafter\n")
    assert "| `command_interface` | string | `effort` | one of effort, velocity, position |" in rendered
    assert "the policy's inputs" in rendered
    assert render_markdown(rendered) == rendered

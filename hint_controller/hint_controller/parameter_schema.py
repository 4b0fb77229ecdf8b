"""Typed, validated node parameters: each node declares its parameters from one table of
:class:`ParameterSpec` (name, type, default, allowed values, description).

:func:`declare_checked` declares a table on a node read-only, with the allowed values in each
descriptor's ``additional_constraints``, and checks every value at start-up: a value of the wrong
type, outside its range (NaN and infinities included) or not among its choices raises ValueError
with one line, ``<name> must be <allowed>, got <value>``, which
:func:`hint_controller.node_main.run_node` prints before exiting with status 1. An integer given
for a floating-point parameter (``rate_hz:=500``) is taken as that number. The nodes read their
parameters once, at start-up, so a change at run time (``ros2 param set``) is refused rather than
accepted and ignored.

The parameter tables of docs/nodes.md are rendered from the tables in code:
``python -m hint_controller.parameter_schema docs/nodes.md`` rewrites every block that starts
with a marker line naming its tables (``module:TABLE``, or ``module:function(argument)`` for a
function returning one)::

    <!-- parameters: hint_bringup.sim_node:PARAMETERS -->
    ...
    <!-- end parameters -->

and ``--check`` only reports (status 1) the blocks that differ from the tables.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import math
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

#: the parameters rclpy itself declares on every node, outside any schema
RCLPY_PARAMETERS = ("use_sim_time", "start_type_description_service")
#: parameter kinds: the Python type of the value (arrays: of each element)
DOUBLE, INTEGER, BOOL, STRING = "double", "integer", "bool", "string"
DOUBLE_ARRAY, INTEGER_ARRAY, STRING_ARRAY = "double_array", "integer_array", "string_array"
KINDS = (DOUBLE, INTEGER, BOOL, STRING, DOUBLE_ARRAY, INTEGER_ARRAY, STRING_ARRAY)
NUMERIC_KINDS = (DOUBLE, INTEGER, DOUBLE_ARRAY, INTEGER_ARRAY)
TEXT_KINDS = (STRING, STRING_ARRAY)


@dataclasses.dataclass(frozen=True)
class Range:
    """Allowed values of a numeric parameter: finite, from `lower` to `upper` (each inclusive
    unless its `*_open` flag is set; infinite = unbounded on that side), or one of `also` (a
    sentinel outside the interval, such as -1 = "from the checkpoint"). `text` replaces the
    generated description where the numbers alone do not explain the values."""

    lower: float = -math.inf
    upper: float = math.inf
    lower_open: bool = False
    upper_open: bool = False
    text: str = ""
    also: tuple[float, ...] = ()

    def contains(self, value: float) -> bool:
        if not math.isfinite(value):
            return False
        if value in self.also:
            return True
        above = value > self.lower if self.lower_open else value >= self.lower
        below = value < self.upper if self.upper_open else value <= self.upper
        return above and below

    def describe(self, integer: bool) -> str:
        if self.text:
            return self.text
        kind = "an integer" if integer else "a finite number"
        if math.isinf(self.lower) and math.isinf(self.upper):
            interval = kind
        elif math.isinf(self.upper):
            interval = f"{kind} {'>' if self.lower_open else '>='} {_number(self.lower)}"
        elif math.isinf(self.lower):
            interval = f"{kind} {'<' if self.upper_open else '<='} {_number(self.upper)}"
        else:
            interval = (f"{kind} in {'(' if self.lower_open else '['}{_number(self.lower)}, "
                        f"{_number(self.upper)}{')' if self.upper_open else ']'}")
        return " or ".join([*(_number(value) for value in self.also), interval])


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"


#: finite and > 0 (periods, timeouts, limits)
POSITIVE = Range(0.0, lower_open=True)
#: finite and >= 0
NON_NEGATIVE = Range(0.0)
#: any finite number
FINITE = Range()
#: counts of at least one (knots, threads, queue depths)
AT_LEAST_ONE = Range(1.0)


@dataclasses.dataclass(frozen=True)
class ParameterSpec:
    """One parameter: `kind` is one of :data:`KINDS`; `default` None declares it without a value
    (arrays left empty; with `non_empty` the parameter is required); `range` bounds numbers (of arrays: each element), None for booleans and
    strings; `choices` lists the allowed strings (of arrays: of each element), empty = any string;
    `non_empty` refuses an empty string or array."""

    name: str
    kind: str
    default: object
    range: Range | None
    description: str
    choices: tuple[str, ...] = ()
    non_empty: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: kind must be one of {KINDS}, got {self.kind!r}")
        if (self.range is not None) != (self.kind in NUMERIC_KINDS):
            raise ValueError(f"{self.name}: numbers need a range, other kinds none")
        if self.choices and self.kind not in TEXT_KINDS:
            raise ValueError(f"{self.name}: choices are for strings")
        if self.default is not None and self.check(self.default) is not None:
            raise ValueError(f"default of {self.check(self.default)}")

    @property
    def allowed(self) -> str:
        """The allowed values in words, as the error line and ``ros2 param describe`` give them."""
        if self.kind == BOOL:
            return "true or false"
        if self.kind == STRING:
            return self._text_allowed("a non-empty string" if self.non_empty else "a string")
        each = {DOUBLE_ARRAY: ("numbers", False), INTEGER_ARRAY: ("integers", True), STRING_ARRAY: ("strings", False)}
        if self.kind in each:
            elements, integer = each[self.kind]
            listed = f"{'a non-empty' if self.non_empty else 'a'} list of {elements}"
            if self.kind == STRING_ARRAY:
                return f"{listed}, each {self._text_allowed('')}" if self.choices else listed
            return f"{listed}, each {self.range.describe(integer=integer)}"
        return self.range.describe(integer=self.kind == INTEGER)

    def _text_allowed(self, otherwise: str) -> str:
        if not self.choices:
            return otherwise
        return "one of " + ", ".join(choice or "''" for choice in self.choices)

    def check(self, value: object) -> str | None:
        """None if `value` is allowed, else the one-line error naming the parameter and what it
        allows. None (declared without a value) is allowed unless the spec is `non_empty`."""
        if value is None:
            return f"{self.name} must be {self.allowed}, got nothing" if self.non_empty else None
        if self._fits(value):
            return None
        shown = list(value) if _is_sequence(value) else value
        return f"{self.name} must be {self.allowed}, got {shown!r}"

    def _fits(self, value: object) -> bool:
        if self.kind == BOOL:
            return isinstance(value, bool)
        if self.kind == STRING:
            return isinstance(value, str) and self._text_fits(value) and not (self.non_empty and not value)
        if self.kind == INTEGER:
            return _is_integer(value) and self.range.contains(value)
        if self.kind == DOUBLE:
            return _is_number(value) and self.range.contains(float(value))
        if not _is_sequence(value) or (self.non_empty and len(value) == 0):
            return False
        if self.kind == STRING_ARRAY:
            return all(isinstance(v, str) and self._text_fits(v) for v in value)
        if self.kind == INTEGER_ARRAY:
            return all(_is_integer(v) and self.range.contains(v) for v in value)
        return all(_is_number(v) and self.range.contains(float(v)) for v in value)

    def _text_fits(self, value: str) -> bool:
        return not self.choices or value in self.choices


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_sequence(value: object) -> bool:
    return isinstance(value, (list, tuple)) or type(value).__name__ == "array"  # rclpy gives array('d', ...)


def check_values(specs: Sequence[ParameterSpec], values: dict[str, object]) -> None:
    """ValueError with the first bad value's line among `values` (name -> value) that `specs` name;
    names the table does not know raise ValueError too."""
    known = {spec.name: spec for spec in specs}
    for name, value in values.items():
        if name not in known:
            raise ValueError(f"unknown parameter {name}; known: {', '.join(sorted(known))}")
        error = known[name].check(value)
        if error:
            raise ValueError(error)


@contextlib.contextmanager
def parameter_error(name: str, *errors: type[Exception]) -> Iterator[None]:
    """Turn `errors` (default: ValueError, LookupError, TypeError, ImportError, AttributeError)
    raised inside into a one-line ValueError ``<name>: <error>``: for values only their use can
    check (an environment name, a torch device, the names of states)."""
    try:
        yield
    except errors or (ValueError, LookupError, TypeError, ImportError, AttributeError) as error:
        text = str(error.args[0]) if isinstance(error, KeyError) and len(error.args) == 1 else str(error)  # unquoted
        raise ValueError(f"{name}: {' '.join(text.split())}") from None


def declare_checked(node, specs: Sequence[ParameterSpec]) -> dict[str, object]:
    """Declare `specs` on `node` (read-only, the allowed values in the descriptor's
    additional_constraints) and check every value: ValueError with the first bad one's line.
    Returns name -> value of every spec (None for one declared without a value).

    rclpy refuses an override whose type differs from the declared one with its own exception; an
    integer for a DOUBLE (array) is converted to float in the node's overrides first (rclpy has
    no public view of them: ``node._parameter_overrides``), any other mismatch is reported with the
    spec's line.
    """
    from rcl_interfaces.msg import ParameterDescriptor
    from rclpy.exceptions import ParameterException
    from rclpy.parameter import Parameter

    types = {DOUBLE: Parameter.Type.DOUBLE, INTEGER: Parameter.Type.INTEGER, BOOL: Parameter.Type.BOOL,
             STRING: Parameter.Type.STRING, DOUBLE_ARRAY: Parameter.Type.DOUBLE_ARRAY,
             INTEGER_ARRAY: Parameter.Type.INTEGER_ARRAY, STRING_ARRAY: Parameter.Type.STRING_ARRAY}
    overrides = node._parameter_overrides
    for spec in specs:
        given = overrides.get(spec.name)
        if given is not None:
            value = given.value
            if spec.kind == DOUBLE and _is_integer(value):
                overrides[spec.name] = Parameter(spec.name, value=float(value))
            elif spec.kind == DOUBLE_ARRAY and _is_sequence(value) and all(_is_integer(v) for v in value):
                overrides[spec.name] = Parameter(spec.name, value=[float(v) for v in value])
            error = spec.check(overrides[spec.name].value)
            if error:
                raise ValueError(error)
        descriptor = ParameterDescriptor(description=spec.description, read_only=True,
                                         additional_constraints=spec.allowed)
        default = types[spec.kind] if spec.default is None else spec.default
        try:
            node.declare_parameter(spec.name, default, descriptor)
        except ParameterException as error:  # a type the check above let through (an empty array)
            raise ValueError(f"{spec.name} must be {spec.allowed}: {error}") from None
        error = spec.check(node.get_parameter_or(spec.name).value)
        if error:
            raise ValueError(error)
    return {spec.name: node.get_parameter_or(spec.name).value for spec in specs}


# ---------------------------------------------------------------------------- documentation

TABLE_HEADER = ("| parameter | type | default | allowed | meaning |", "|---|---|---|---|---|")
BLOCK = re.compile(r"^<!-- parameters: (?P<tables>.+?) -->\n(?P<rows>.*?)^<!-- end parameters -->$",
                   re.MULTILINE | re.DOTALL)
_TABLE = re.compile(r"^(?P<module>[\w.]+):(?P<name>\w+)(?:\((?P<argument>\w*)\))?$")


def markdown_rows(specs: Sequence[ParameterSpec]) -> list[str]:
    """The markdown table of `specs`: header, then one row per parameter."""
    rows = list(TABLE_HEADER)
    for spec in specs:
        cells = (f"`{spec.name}`", spec.kind, _markdown_default(spec), spec.allowed, spec.description)
        # a bare '<joint>' would be read as an HTML tag, a bare '|' as a cell boundary
        rows.append("| " + " | ".join(cell.replace("|", "\\|").replace("<", "&lt;") for cell in cells) + " |")
    return rows


def _markdown_default(spec: ParameterSpec) -> str:
    value = spec.default
    if value is None:
        return "required" if spec.non_empty else "`[]`" if spec.kind.endswith("_array") else "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{value}`" if value else "`''`"
    if _is_sequence(value):
        return "`[" + ", ".join(_markdown_scalar(v) for v in value) + "]`"
    return f"`{_markdown_scalar(value)}`"


def _markdown_scalar(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def load_tables(marker: str) -> tuple[ParameterSpec, ...]:
    """The specs a marker names: space-separated ``module:TABLE`` or ``module:function(argument)``."""
    specs: list[ParameterSpec] = []
    for token in marker.split():
        match = _TABLE.match(token)
        if match is None:
            raise ValueError(f"parameter table {token!r} is not module:TABLE or module:function(argument)")
        table = getattr(importlib.import_module(match["module"]), match["name"])
        specs.extend(table(match["argument"]) if match["argument"] is not None else table)
    return tuple(specs)


def render_markdown(text: str) -> str:
    """`text` with every marked parameter block replaced by the table its marker names."""
    def block(match: re.Match) -> str:
        rows = "\n".join(markdown_rows(load_tables(match["tables"])))
        return f"<!-- parameters: {match['tables']} -->\n{rows}\n<!-- end parameters -->"

    return BLOCK.sub(block, text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hint_controller.parameter_schema",
                                     description="Render the parameter tables of a markdown file from the nodes' schemas.")
    parser.add_argument("markdown", type=Path, help="file with <!-- parameters: module:TABLE --> blocks (docs/nodes.md)")
    parser.add_argument("--check", action="store_true", help="only report whether the tables are current (status 1 if not)")
    args = parser.parse_args(argv)
    text = args.markdown.read_text()
    rendered = render_markdown(text)
    if rendered == text:
        return 0
    if args.check:
        print(f"{args.markdown}: parameter tables differ from the schemas; run python -m "
              f"hint_controller.parameter_schema {args.markdown}", file=sys.stderr)
        return 1
    args.markdown.write_text(rendered)
    print(f"{args.markdown}: parameter tables updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())

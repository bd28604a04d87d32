"""Rule conditions: a small SQL expression language over one case's own columns.

A condition is parsed by a recursive-descent parser written for this grammar alone and compiled
straight into a polars expression; no text ever reaches a SQL engine, so nothing in a condition
can read a file, run a query or depend on other rows. What is allowed:

- column references (``docket``, or ``"odd name"`` in double quotes) and literals: text in single
  quotes (``'it''s'``), numbers, ``TRUE``, ``FALSE``, ``NULL``;
- comparisons ``= == <> != < <= > >=``, ``AND``, ``OR``, ``NOT``, arithmetic ``+ - * / %``,
  text concatenation ``||``;
- ``x [NOT] IN (literal, ...)``, ``x [NOT] BETWEEN a AND b``, ``x [NOT] LIKE|ILIKE 'pattern'
  [ESCAPE 'c']``, ``x IS [NOT] NULL|TRUE|FALSE``;
- ``CASE [x] WHEN ... THEN ... [ELSE ...] END``, ``CAST(x AS type)``, ``TRY_CAST(x AS type)``,
  ``x::type``;
- the deterministic scalar functions of FUNCTIONS.

Everything else is rejected with a message saying what is not allowed: subqueries, table
functions (``read_csv``), aggregates (``count(*)``, ``min(col)``), window functions
(``... OVER (...)``), non-deterministic functions (``now()``, ``random()``) and unknown functions.

Limits (LIMITS) keep compile and evaluation time linear in the text: at most 256 KiB of text,
nesting at most 100 deep, at most 10,000 terms joined by AND/OR. A run of OR-ed equalities on one
column (``a = 'x' OR a = 'y' OR a IN (...)``) compiles to one ``is_in``; other wide AND/OR runs to
one horizontal reduction, so 5,000 terms evaluate as fast as a handful.

Semantics follow SQL: a comparison with a null is null, AND/OR use three-valued logic, and a
condition that ends up null for a case does not match it. Numbers compare as numbers (an integer
column against a decimal literal compares as floating point); ``/`` is true division, ``%`` the
remainder with the sign of the dividend. A computation with no finite result (division by zero,
``ln`` or ``log10`` of zero or a negative number, ``sqrt`` of a negative number, an overflow) is
NULL, as in SQL, so a condition that depends on it does not match.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal, NoReturn

import polars as pl

__all__ = [
    "FUNCTIONS",
    "LIMITS",
    "Condition",
    "ConditionError",
    "compile_condition",
    "parse_condition",
]

MAX_TEXT_BYTES = 256 * 1024
MAX_DEPTH = 100
MAX_TERMS = 10_000
# What the compiled polars expression may cost: the sum, over its nodes, of the size of the
# subtree under each node (see _compiled_cost). polars' planning time grows with this figure, not
# with the text: nested %, mod(), nullif(), BETWEEN and CASE x WHEN repeat an operand at each
# level (2 to 5 copies), so 8 nested % are 184 bytes but 3 million nodes; a CASE nests one level
# per WHEN, so 4,000 WHENs cost 72 million. Measured on a tiny table (load 1.3 on 2 cores): cost
# 160,000-420,000 plans in 0.1-0.16 s, 920,000 in 0.7 s, 1.9 million in 0.7-1.7 s; a flat OR of
# 10,000 comparisons costs 180,000.
MAX_COMPILED_COST = 500_000
LIMITS = {
    "text_bytes": MAX_TEXT_BYTES,
    "depth": MAX_DEPTH,
    "terms": MAX_TERMS,
    "compiled_cost": MAX_COMPILED_COST,
}

# name -> (fewest, most arguments, what it does); documented in README's config section.
FUNCTIONS: dict[str, tuple[int, int, str]] = {
    "lower": (1, 1, "text in lower case"),
    "upper": (1, 1, "text in upper case"),
    "trim": (1, 1, "text without leading and trailing whitespace"),
    "ltrim": (1, 1, "text without leading whitespace"),
    "rtrim": (1, 1, "text without trailing whitespace"),
    "length": (1, 1, "number of characters"),
    "char_length": (1, 1, "number of characters"),
    "character_length": (1, 1, "number of characters"),
    "substr": (2, 3, "substr(text, start[, count]): characters from start (1-based)"),
    "substring": (2, 3, "same as substr"),
    "starts_with": (2, 2, "starts_with(text, prefix)"),
    "ends_with": (2, 2, "ends_with(text, suffix)"),
    "replace": (3, 3, "replace(text, from, to): every occurrence, literally"),
    "concat": (1, 64, "concat(a, b, ...): text joined, nulls skipped"),
    "abs": (1, 1, "absolute value"),
    "sign": (1, 1, "-1, 0 or 1"),
    "round": (1, 2, "round(x[, digits]): half to even"),
    "floor": (1, 1, "largest integer not above x"),
    "ceil": (1, 1, "smallest integer not below x"),
    "ceiling": (1, 1, "same as ceil"),
    "sqrt": (1, 1, "square root"),
    "exp": (1, 1, "e to the power x"),
    "ln": (1, 1, "natural logarithm"),
    "log10": (1, 1, "base-10 logarithm"),
    "power": (2, 2, "power(x, y): x to the power y"),
    "pow": (2, 2, "same as power"),
    "mod": (2, 2, "mod(x, y): same as x % y"),
    "coalesce": (1, 64, "the first argument that is not null"),
    "nullif": (2, 2, "nullif(a, b): null when a = b, else a"),
    "greatest": (1, 64, "the largest argument (nulls skipped)"),
    "least": (1, 64, "the smallest argument (nulls skipped)"),
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_AGGREGATES = _words(
    """
    count sum min max avg mean median first last first_value last_value nth_value stddev
    stddev_pop stddev_samp std variance var var_pop var_samp array_agg string_agg listagg
    group_concat any_value bool_and bool_or every mode quantile quantile_cont quantile_disc
    percentile_cont percentile_disc approx_count_distinct n_unique corr covar covar_pop
    covar_samp product
    """
)
_WINDOW = _words(
    """
    row_number rank dense_rank ntile lag lead cume_dist percent_rank over
    """
)
_NONDETERMINISTIC = _words(
    """
    now random rand uuid gen_random_uuid uuid4 current_date current_time current_timestamp
    localtime localtimestamp today clock_timestamp statement_timestamp transaction_timestamp
    sysdate getdate setseed
    """
)
# SQL's clock values, written without parentheses.
_CLOCK_WORDS = frozenset(
    ["current_date", "current_time", "current_timestamp", "localtime", "localtimestamp"]
)
_TABLE_FUNCTIONS = _words(
    """
    read_csv read_parquet read_json read_ndjson read_ipc read_excel read_database read_delta
    scan_csv scan_parquet scan_ndjson scan_ipc unnest generate_series range
    """
)
_QUERY_WORDS = _words(
    """
    select from where group having order limit offset union intersect except with values exists
    any all some join table insert update delete drop create alter
    """
)
_KEYWORDS = _words(
    """
    and or not in is null true false between like ilike escape case when then else end cast
    try_cast as
    """
)

_CAST_TYPES: dict[str, pl.DataType] = {
    "boolean": pl.Boolean(),
    "bool": pl.Boolean(),
    "tinyint": pl.Int8(),
    "smallint": pl.Int16(),
    "int": pl.Int32(),
    "integer": pl.Int32(),
    "int4": pl.Int32(),
    "bigint": pl.Int64(),
    "int8": pl.Int64(),
    "real": pl.Float32(),
    "float4": pl.Float32(),
    "float": pl.Float64(),
    "float8": pl.Float64(),
    "double": pl.Float64(),
    "decimal": pl.Float64(),
    "numeric": pl.Float64(),
    "varchar": pl.String(),
    "text": pl.String(),
    "string": pl.String(),
    "char": pl.String(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "datetime": pl.Datetime("us"),
}

_MAX_QUOTED = 40  # characters of the condition quoted around a syntax error


class ConditionError(ValueError):
    """A condition that is not allowed, does not parse, or does not fit the case columns."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --------------------------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------------------------

TokenKind = Literal["number", "string", "ident", "qident", "op", "end"]


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str
    pos: int  # 0-based character offset
    word: str = ""  # an unquoted identifier in lower case, for keyword tests


# The string pattern is the unrolled loop '[^']*(?:''[^']*)*' so that an unterminated string
# fails in linear time instead of backtracking.
_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    | (?P<string>'[^']*(?:''[^']*)*')
    | (?P<qident>"[^"]*(?:""[^"]*)*")
    | (?P<ident>[^\W\d]\w*)
    | (?P<op><>|!=|<=|>=|==|::|\|\||[=<>+\-*/%(),])
    )
    """,
    re.VERBOSE,
)


def _tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    n = len(text.rstrip())
    match_at = _TOKEN.match
    while pos < n:
        match = match_at(text, pos)
        if match is None:
            pos += len(text[pos:]) - len(text[pos:].lstrip())
            _unexpected(text, pos)
        kind = match.lastgroup
        assert kind is not None
        start = match.start(kind)
        value = match.group(kind)
        if kind == "string":
            value = value[1:-1].replace("''", "'")
        elif kind == "qident":
            value = value[1:-1].replace('""', '"')
        word = value.lower() if kind == "ident" else ""
        tokens.append(Token(kind, value, start, word))  # type: ignore[arg-type]
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


def _unexpected(text: str, pos: int) -> NoReturn:
    char = text[pos]
    if char == "'":
        raise ConditionError(f"does not parse: unterminated text starting at character {pos + 1}")
    if char == '"':
        raise ConditionError(
            f"does not parse: unterminated quoted name starting at character {pos + 1}"
        )
    if char == ";":
        raise ConditionError(
            f"';' at character {pos + 1}: a condition is one expression, not statements"
        )
    raise ConditionError(
        f"does not parse: unexpected character {char!r} at character {pos + 1}{_near(text, pos)}"
    )


def _near(text: str, pos: int) -> str:
    snippet = text[pos : pos + _MAX_QUOTED]
    if not snippet:
        return ""
    more = "..." if len(text) > pos + _MAX_QUOTED else ""
    return f" (near {snippet + more!r})"


# --------------------------------------------------------------------------------------------
# Syntax tree
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Node:
    pos: int
    depth: int


@dataclass(frozen=True, slots=True)
class Column(Node):
    name: str
    quoted: bool


@dataclass(frozen=True, slots=True)
class Lit(Node):
    value: str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: Literal["not", "-", "+"]
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # a comparison, arithmetic or '||'
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class BoolOp(Node):
    op: Literal["and", "or"]
    operands: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class IsTest(Node):
    operand: Node
    what: Literal["null", "true", "false"]
    negated: bool


@dataclass(frozen=True, slots=True)
class InList(Node):
    operand: Node
    items: tuple[Lit, ...]
    negated: bool


@dataclass(frozen=True, slots=True)
class Between(Node):
    operand: Node
    low: Node
    high: Node
    negated: bool


@dataclass(frozen=True, slots=True)
class Like(Node):
    operand: Node
    pattern: str
    escape: str | None
    insensitive: bool
    negated: bool


@dataclass(frozen=True, slots=True)
class Case(Node):
    subject: Node | None
    whens: tuple[tuple[Node, Node], ...]
    otherwise: Node | None


@dataclass(frozen=True, slots=True)
class Cast(Node):
    operand: Node
    type_name: str
    strict: bool


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


def _depth(*children: Node | None) -> int:
    deepest = 0
    for child in children:
        if child is not None and child.depth > deepest:
            deepest = child.depth
    return deepest + 1


# Binding strength of infix operators, loosest first (PostgreSQL's order).
_PREC_OR, _PREC_AND, _PREC_NOT, _PREC_IS, _PREC_CMP, _PREC_RANGE = 1, 2, 3, 4, 5, 6
_PREC_OTHER, _PREC_ADD, _PREC_MUL, _PREC_UNARY = 7, 8, 9, 10
_COMPARISONS = {"=": "=", "==": "=", "<>": "<>", "!=": "<>", "<": "<", "<=": "<=", ">": ">"}
_COMPARISONS[">="] = ">="
_INFIX_PREC = {"||": _PREC_OTHER, "+": _PREC_ADD, "-": _PREC_ADD}
_INFIX_PREC.update({"*": _PREC_MUL, "/": _PREC_MUL, "%": _PREC_MUL})


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.nesting = 0
        self.terms = 0

    # -- token helpers ---------------------------------------------------------------------

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek_word(self, offset: int = 0) -> str:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)].word

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def accept_word(self, word: str) -> bool:
        if self.tok.word == word:
            self.i += 1
            return True
        return False

    def accept_op(self, op: str) -> bool:
        if self.tok.kind == "op" and self.tok.text == op:
            self.i += 1
            return True
        return False

    def describe(self, tok: Token) -> str:
        if tok.kind == "end":
            return "the end of the condition"
        if tok.kind == "string":
            return f"text '{tok.text}'" if len(tok.text) <= _MAX_QUOTED else "a text value"
        return f"'{tok.text}'" if len(tok.text) <= _MAX_QUOTED else "a long name"

    def fail(self, expected: str, tok: Token | None = None) -> ConditionError:
        tok = tok or self.tok
        where = f"at character {tok.pos + 1}" if tok.kind != "end" else "at the end"
        return ConditionError(
            f"does not parse: expected {expected} {where}, found {self.describe(tok)}"
        )

    def expect_op(self, op: str, expected: str | None = None) -> None:
        if not self.accept_op(op):
            raise self.fail(expected or f"'{op}'")

    def expect_word(self, word: str) -> None:
        if not self.accept_word(word):
            raise self.fail(word.upper())

    def nest(self) -> None:
        self.nesting += 1
        if self.nesting > MAX_DEPTH:
            raise ConditionError(f"nested more than {MAX_DEPTH} deep (the limit)")

    def checked(self, node: Node) -> Node:
        if node.depth > MAX_DEPTH:
            raise ConditionError(f"nested more than {MAX_DEPTH} deep (the limit)")
        return node

    # -- grammar ---------------------------------------------------------------------------

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise ConditionError("the condition is empty")
        node = self.expr(0)
        tok = self.tok
        if tok.kind != "end":
            if tok.word == "over":
                raise ConditionError("window functions (OVER) are not allowed")
            raise self.fail("an operator or the end of the condition")
        self.terms = max(self.terms, 1)
        return node

    def expr(self, min_prec: int) -> Node:
        self.nest()
        left = self.prefix()
        while True:
            tok = self.tok
            word = tok.word
            if word in ("or", "and"):
                prec = _PREC_OR if word == "or" else _PREC_AND
                if prec < min_prec:
                    break
                operands = [left]
                while self.accept_word(word):
                    operands.append(self.expr(prec + 1))
                left = self.bool_op(word, operands, tok.pos)  # type: ignore[arg-type]
                continue
            if word == "is":
                if min_prec > _PREC_IS:
                    break
                self.advance()
                negated = self.accept_word("not")
                what = self.tok.word
                if what not in ("null", "true", "false"):
                    raise self.fail("NULL, TRUE or FALSE after IS")
                self.advance()
                left = self.checked(IsTest(tok.pos, _depth(left), left, what, negated))  # type: ignore[arg-type]
                continue
            negated = word == "not" and self.peek_word(1) in ("in", "between", "like", "ilike")
            range_word = self.peek_word(1) if negated else word
            if range_word in ("in", "between", "like", "ilike"):
                if min_prec > _PREC_RANGE:
                    break
                self.i += 2 if negated else 1
                left = self.checked(self.range_test(range_word, left, negated, tok.pos))
                continue
            if tok.kind != "op":
                break
            op = tok.text
            if op in _COMPARISONS:
                if min_prec > _PREC_CMP:
                    break
                self.advance()
                right = self.expr(_PREC_CMP + 1)
                if self.tok.kind == "op" and self.tok.text in _COMPARISONS:
                    raise ConditionError(
                        f"comparisons do not chain (character {self.tok.pos + 1}): "
                        "join them with AND"
                    )
                left = self.checked(
                    Binary(tok.pos, _depth(left, right), _COMPARISONS[op], left, right)
                )
                continue
            if op == "::":
                self.advance()
                left = self.checked(Cast(tok.pos, _depth(left), left, self.type_name(), True))
                continue
            binding = _INFIX_PREC.get(op)
            if binding is None or binding < min_prec:
                break
            self.advance()
            right = self.expr(binding + 1)
            left = self.checked(Binary(tok.pos, _depth(left, right), op, left, right))
        self.nesting -= 1
        return left

    def bool_op(self, op: Literal["and", "or"], operands: list[Node], pos: int) -> Node:
        flat: list[Node] = []
        for operand in operands:
            if isinstance(operand, BoolOp) and operand.op == op:
                flat.extend(operand.operands)
            else:
                flat.append(operand)
        self.terms += sum(1 for operand in operands if not isinstance(operand, BoolOp))
        if self.terms > MAX_TERMS:
            raise ConditionError(
                f"more than {MAX_TERMS:,} tests joined by AND/OR (the limit); "
                "list many values of one column with IN"
            )
        return self.checked(BoolOp(pos, _depth(*flat), op, tuple(flat)))

    def range_test(self, word: str, left: Node, negated: bool, pos: int) -> Node:
        if word == "in":
            self.expect_op("(", "'(' after IN")
            if self.tok.word in _QUERY_WORDS:
                raise ConditionError("subqueries are not allowed; list the values: IN ('a', 'b')")
            items = [self.literal("a literal value in the IN list")]
            while self.accept_op(","):
                items.append(self.literal("a literal value in the IN list"))
            self.expect_op(")", "',' or ')' in the IN list")
            return InList(pos, _depth(left), left, tuple(items), negated)
        if word == "between":
            low = self.expr(_PREC_RANGE + 1)
            self.expect_word("and")
            high = self.expr(_PREC_RANGE + 1)
            return Between(pos, _depth(left, low, high), left, low, high, negated)
        pattern = self.tok
        if pattern.kind != "string":
            raise self.fail(f"a text pattern in single quotes after {word.upper()}")
        self.advance()
        escape = None
        if self.accept_word("escape"):
            esc = self.tok
            if esc.kind != "string" or len(esc.text) != 1:
                raise self.fail("one character in single quotes after ESCAPE")
            self.advance()
            escape = esc.text
        return Like(pos, _depth(left), left, pattern.text, escape, word == "ilike", negated)

    def literal(self, expected: str) -> Lit:
        tok = self.tok
        sign = 1
        if tok.kind == "op" and tok.text in ("-", "+"):
            sign = -1 if tok.text == "-" else 1
            self.advance()
            if self.tok.kind != "number":
                raise self.fail("a number after the sign")
            tok = self.tok
        if tok.kind == "number":
            self.advance()
            value = _number(tok.text)
            return Lit(tok.pos, 1, -value if sign < 0 else value)
        if tok.kind == "string":
            self.advance()
            return Lit(tok.pos, 1, tok.text)
        if tok.word in ("true", "false", "null"):
            self.advance()
            return Lit(tok.pos, 1, {"true": True, "false": False, "null": None}[tok.word])
        if tok.word in _QUERY_WORDS:
            raise ConditionError("subqueries are not allowed; list the values: IN ('a', 'b')")
        raise self.fail(expected)

    def type_name(self) -> str:
        tok = self.tok
        name = tok.word
        if name == "double" and self.peek_word(1) == "precision":
            self.advance()
        if name not in _CAST_TYPES:
            known = ", ".join(sorted({n.upper() for n in _CAST_TYPES}))
            raise self.fail(f"a type name ({known})")
        self.advance()
        if name in ("varchar", "char", "decimal", "numeric") and self.accept_op("("):
            # Lengths and precisions are accepted and ignored: text has no length limit here
            # and numbers are double precision.
            while self.tok.kind == "number" or self.accept_op(","):
                if self.tok.kind == "number":
                    self.advance()
            self.expect_op(")")
        return name

    def prefix(self) -> Node:
        tok = self.tok
        word = tok.word
        if word == "not":
            self.advance()
            operand = self.expr(_PREC_NOT)
            return self.checked(Unary(tok.pos, _depth(operand), "not", operand))
        if tok.kind == "op" and tok.text in ("-", "+"):
            self.advance()
            operand = self.expr(_PREC_UNARY)
            if tok.text == "-" and isinstance(operand, Lit) and _is_number(operand.value):
                value = operand.value
                assert isinstance(value, int | float)
                return Lit(tok.pos, 1, -value)
            return self.checked(Unary(tok.pos, _depth(operand), tok.text, operand))  # type: ignore[arg-type]
        if tok.kind == "op" and tok.text == "(":
            self.advance()
            if self.tok.word in _QUERY_WORDS:
                raise ConditionError("subqueries are not allowed")
            node = self.expr(0)
            self.expect_op(")", "')'")
            return node
        if tok.kind in ("number", "string") or word in ("true", "false", "null"):
            return self.literal("a value")
        if word == "case":
            return self.case()
        if word in ("cast", "try_cast") and self.tokens[self.i + 1].text == "(":
            self.i += 2
            operand = self.expr(0)
            self.expect_word("as")
            name = self.type_name()
            self.expect_op(")", "')' to close CAST")
            return self.checked(Cast(tok.pos, _depth(operand), operand, name, word == "cast"))
        if tok.kind == "qident":
            self.advance()
            return Column(tok.pos, 1, tok.text, True)
        if tok.kind == "ident":
            self.advance()
            if self.tok.kind == "op" and self.tok.text == "(":
                return self.call(tok)
            if word in _QUERY_WORDS:
                raise ConditionError(
                    f"'{tok.text}' at character {tok.pos + 1}: a condition is an expression "
                    "over the case's columns; queries and statements are not allowed"
                )
            if word in _KEYWORDS:
                raise self.fail("a value", tok)
            if word in _CLOCK_WORDS:
                raise ConditionError(
                    f"{tok.text} is not deterministic, not allowed: a condition must give the "
                    'same answer every run (a column of that name is written "' + tok.text + '")'
                )
            return Column(tok.pos, 1, tok.text, False)
        if tok.kind == "op" and tok.text == "*":
            raise ConditionError(f"'*' at character {tok.pos + 1} is not allowed")
        raise self.fail("a value")

    def call(self, name_tok: Token) -> Node:
        name = name_tok.text.lower()
        self.advance()  # '('
        _check_function(name)
        args: list[Node] = []
        if not self.accept_op(")"):
            args.append(self.expr(0))
            while self.accept_op(","):
                args.append(self.expr(0))
            self.expect_op(")", f"',' or ')' in the arguments of {name}")
        if self.tok.word == "over":
            raise ConditionError("window functions (OVER) are not allowed")
        fewest, most, _ = FUNCTIONS[name]
        if not fewest <= len(args) <= most:
            count = str(fewest) if fewest == most else f"{fewest} to {most}"
            raise ConditionError(
                f"{name}() takes {count} argument{'s' if most > 1 else ''}, got {len(args)}"
            )
        return self.checked(Call(name_tok.pos, _depth(*args), name, tuple(args)))

    def case(self) -> Node:
        start = self.advance()
        subject = None if self.tok.word == "when" else self.expr(0)
        whens: list[tuple[Node, Node]] = []
        while self.accept_word("when"):
            cond = self.expr(0)
            self.expect_word("then")
            whens.append((cond, self.expr(0)))
        if not whens:
            raise self.fail("WHEN")
        otherwise = self.expr(0) if self.accept_word("else") else None
        self.expect_word("end")
        children = [subject, otherwise, *(n for pair in whens for n in pair)]
        return self.checked(Case(start.pos, _depth(*children), subject, tuple(whens), otherwise))


def _check_function(name: str) -> None:
    if name in FUNCTIONS:
        return
    if name in _TABLE_FUNCTIONS or name.startswith(("read_", "scan_")):
        raise ConditionError(
            f"{name}() is a table function, not allowed: a condition reads only the case's "
            "own columns"
        )
    if name in _AGGREGATES:
        hint = (
            " (use least/greatest to compare values of one case)" if name in ("min", "max") else ""
        )
        raise ConditionError(
            f"{name}() is an aggregate over all cases, not allowed: a condition decides per "
            f"case{hint}"
        )
    if name in _WINDOW:
        raise ConditionError(
            f"{name}() is a window function, not allowed: a condition decides per case"
        )
    if name in _NONDETERMINISTIC:
        raise ConditionError(
            f"{name}() is not deterministic, not allowed: a condition must give the same "
            "answer every run"
        )
    raise ConditionError(
        f"unknown function {name}(), not allowed; allowed: {', '.join(sorted(FUNCTIONS))}"
    )


def _number(text: str) -> int | float:
    if text.isdigit():
        whole = int(text)
        if whole >= 2**63:
            raise ConditionError(f"the whole number {text[:_MAX_QUOTED]} is out of range")
        return whole
    value = float(text)
    if not math.isfinite(value):
        raise ConditionError(f"the number {text[:_MAX_QUOTED]} is out of range")
    return value


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Condition:
    """A parsed condition: its text, syntax tree and the columns it reads (in order)."""

    text: str
    tree: Node
    columns: tuple[str, ...]


@lru_cache(maxsize=128)
def parse_condition(text: str) -> Condition:
    """Parse `text` (no schema needed). Raises ConditionError: syntax, grammar, limits."""
    size = len(text.encode("utf-8"))
    if size > MAX_TEXT_BYTES:
        raise ConditionError(
            f"the condition is {size:,} bytes; the limit is {MAX_TEXT_BYTES:,} "
            "(list many values with IN, or split the rule)"
        )
    parser = _Parser(text)
    tree = parser.parse()
    size, cost = _compiled_cost(tree)
    if cost > MAX_COMPILED_COST:
        raise ConditionError(
            f"the condition compiles to an expression of {size:,} nodes at a cost of {cost:,}; "
            f"the limit is {MAX_COMPILED_COST:,} (nested %, mod(), nullif(), BETWEEN and "
            "CASE x WHEN repeat their operand at each level, and each WHEN of a CASE nests one "
            "level deeper: use IN lists, fewer levels, or split the rule)"
        )
    return Condition(text, tree, tuple(dict.fromkeys(_columns(tree))))


# How many copies of each operand the compiler puts into the polars expression, and how many
# nodes of its own, per construct (mirrors _Compiler; a change there must be made here too).
# _remainder(a, b) uses `a % b` four times and `a` once more, so a and b appear five times.
_REMAINDER_COPIES, _REMAINDER_OWN = 5, 14


def _compiled_cost(node: Node) -> tuple[int, int]:
    """(size, cost) of the polars expression `node` compiles to, without building it.

    size counts nodes with every repeated operand counted again; cost sums the size of the
    subtree under every node, which is what planning walks (a node's type is resolved from its
    whole subtree). Linear in the syntax tree, whose depth the parser bounds.
    """
    if isinstance(node, Case):
        return _case_cost(node)
    own, parts = _expansion(node)
    size, cost = own, 0
    for child, copies in parts:
        child_size, child_cost = _compiled_cost(child)
        size += copies * child_size
        cost += copies * child_cost
    return size, cost + size


def _expansion(node: Node) -> tuple[int, list[tuple[Node, int]]]:
    """The nodes `node` adds itself and its operands with their number of copies."""
    if isinstance(node, Binary):
        if node.op == "%":
            return _REMAINDER_OWN, [(node.left, _REMAINDER_COPIES), (node.right, _REMAINDER_COPIES)]
        return 3, [(node.left, 1), (node.right, 1)]
    if isinstance(node, Between):
        return 4, [(node.operand, 2), (node.low, 1), (node.high, 1)]
    if isinstance(node, Call):
        if node.name == "mod":
            return _REMAINDER_OWN, [(a, _REMAINDER_COPIES) for a in node.args]
        if node.name == "nullif":
            return 4, [(node.args[0], 2), *((a, 1) for a in node.args[1:])]
        return 3, [(a, 1) for a in node.args]
    if isinstance(node, IsTest | InList):
        return 4, [(node.operand, 1)]
    return 2, [(child, 1) for child in _children(node)]


def _case_cost(node: Case) -> tuple[int, int]:
    # Compiled from the last WHEN outwards, each one a when/then/otherwise around the rest, and
    # `CASE x WHEN v` compares x with each v: x is repeated once per WHEN.
    subject = (0, 0) if node.subject is None else _compiled_cost(node.subject)
    size, cost = (1, 1) if node.otherwise is None else _compiled_cost(node.otherwise)
    for cond, value in reversed(node.whens):
        cond_size, cond_cost = _compiled_cost(cond)
        value_size, value_cost = _compiled_cost(value)
        size += 3 + cond_size + value_size + subject[0]
        cost += cond_cost + value_cost + subject[1] + size
    return size, cost


def _columns(node: Node) -> list[str]:
    found: list[str] = []
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Column):
            found.append(current.name)
        else:
            stack.extend(reversed(_children(current)))
    return found


def _children(node: Node) -> list[Node]:
    if isinstance(node, Unary | IsTest | InList | Like | Cast):
        return [node.operand]
    if isinstance(node, Binary):
        return [node.left, node.right]
    if isinstance(node, BoolOp):
        return list(node.operands)
    if isinstance(node, Between):
        return [node.operand, node.low, node.high]
    if isinstance(node, Case):
        out = [] if node.subject is None else [node.subject]
        for cond, value in node.whens:
            out += [cond, value]
        return out + ([] if node.otherwise is None else [node.otherwise])
    if isinstance(node, Call):
        return list(node.args)
    return []


# --------------------------------------------------------------------------------------------
# Types and compilation
# --------------------------------------------------------------------------------------------

Kind = Literal["bool", "int", "float", "text", "null", "temporal", "other"]


@dataclass(frozen=True, slots=True)
class _Typed:
    expr: pl.Expr
    kind: Kind
    dtype: pl.DataType | None  # None for a NULL literal
    label: str  # how messages name this value: a column name, 'a number', ...
    literal: object = ...  # the value when this is a literal (Ellipsis: not a literal)


_KIND_WORDS: dict[Kind, str] = {
    "bool": "a yes/no value",
    "int": "a number",
    "float": "a number",
    "text": "text",
    "null": "NULL",
    "temporal": "a date/time",
    "other": "a value",
}


def _kind_of(dtype: pl.DataType) -> Kind:
    if dtype == pl.Boolean():
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        return "text"
    if dtype == pl.Null():
        return "null"
    if dtype.is_temporal():
        return "temporal"
    return "other"


def _describe(value: _Typed) -> str:
    if value.literal is not ...:
        return value.label
    if value.dtype is None:
        return "NULL"
    return f"{value.label} ({_KIND_WORDS[value.kind]}, {value.dtype})"


def _numeric(kind: Kind) -> bool:
    return kind in ("int", "float", "null")


class _Compiler:
    def __init__(self, schema: pl.Schema) -> None:
        self.schema = schema

    def bool_expr(self, node: Node, what: str) -> pl.Expr:
        value = self.compile(node)
        if value.kind not in ("bool", "null"):
            raise ConditionError(f"{what} needs a yes/no value, but {_describe(value)} is not one")
        # A column of nulls only (dtype Null) reads as unknown, which polars wants typed here.
        return value.expr if value.kind == "bool" else value.expr.cast(pl.Boolean())

    def compile(self, node: Node) -> _Typed:
        if isinstance(node, Column):
            if node.name == "*" or (node.name.startswith("^") and node.name.endswith("$")):
                # polars reads such names as "every column" or a pattern of column names.
                raise ConditionError(f"the column name {node.name!r} cannot be used in a rule")
            dtype = self.schema[node.name]
            return _Typed(pl.col(node.name), _kind_of(dtype), dtype, f"'{node.name}'")
        if isinstance(node, Lit):
            return _literal(node.value)
        if isinstance(node, BoolOp):
            return self.bool_op(node)
        if isinstance(node, Unary):
            if node.op == "not":
                return _bool(~self.bool_expr(node.operand, "NOT"))
            operand = self.compile(node.operand)
            if not _numeric(operand.kind):
                raise ConditionError(f"unary {node.op} needs a number, not {_describe(operand)}")
            value = _as_number(operand)
            return _Typed(
                -value if node.op == "-" else value, operand.kind, operand.dtype, "a number"
            )
        if isinstance(node, Binary):
            if node.op in ("=", "<>", "<", "<=", ">", ">="):
                return _bool(
                    self.compare(node.op, self.compile(node.left), self.compile(node.right))
                )
            return self.arithmetic(node)
        if isinstance(node, IsTest):
            return _bool(self.is_test(node))
        if isinstance(node, InList):
            return _bool(self.in_list(node))
        if isinstance(node, Between):
            operand = self.compile(node.operand)
            low = self.compare(">=", operand, self.compile(node.low))
            high = self.compare("<=", operand, self.compile(node.high))
            inside = low & high
            return _bool(~inside if node.negated else inside)
        if isinstance(node, Like):
            return _bool(self.like(node))
        if isinstance(node, Case):
            return self.case(node)
        if isinstance(node, Cast):
            return self.cast(node)
        assert isinstance(node, Call)
        return self.call(node)

    # -- boolean ---------------------------------------------------------------------------

    def bool_op(self, node: BoolOp) -> _Typed:
        word = node.op.upper()
        if node.op == "or":
            # Equalities and IN lists on one column, OR-ed, are one set-membership test.
            groups: dict[str, list[object]] = {}
            rest: list[Node] = []
            for operand in node.operands:
                member = _membership(operand)
                if member is not None and member[0] in self.schema:
                    groups.setdefault(member[0], []).extend(member[1])
                else:
                    rest.append(operand)
            exprs: list[pl.Expr] = []
            for name, values in groups.items():
                pos = node.pos
                items = tuple(Lit(pos, 1, v) for v in values)  # type: ignore[arg-type]
                exprs.append(
                    self.in_list(InList(pos, 2, Column(pos, 1, name, False), items, False))
                )
            exprs += [self.bool_expr(o, word) for o in rest]
        else:
            exprs = [self.bool_expr(o, word) for o in node.operands]
        if len(exprs) == 1:
            return _bool(exprs[0])
        if len(exprs) == 2:
            return _bool(exprs[0] | exprs[1] if node.op == "or" else exprs[0] & exprs[1])
        combined = pl.any_horizontal(exprs) if node.op == "or" else pl.all_horizontal(exprs)
        return _bool(combined)

    def is_test(self, node: IsTest) -> pl.Expr:
        operand = self.compile(node.operand)
        if node.what == "null":
            expr = operand.expr.is_null()
        else:
            if operand.kind not in ("bool", "null"):
                raise ConditionError(
                    f"IS {node.what.upper()} needs a yes/no value, not {_describe(operand)}"
                )
            truth = operand.expr.cast(pl.Boolean())
            expr = truth.fill_null(False) if node.what == "true" else (~truth).fill_null(False)
        return ~expr if node.negated else expr

    def in_list(self, node: InList) -> pl.Expr:
        operand = self.compile(node.operand)
        values = [_coerce(_literal(item.value, expr=False), operand) for item in node.items]
        present = [v for v in values if v.kind != "null"]
        for value in present:
            _check_comparable("IN", operand, value)
        if operand.kind == "null" or not present:
            # x IN (NULL) is unknown for every x, and so is x NOT IN (NULL).
            result: pl.Expr = pl.repeat(None, pl.len(), dtype=pl.Boolean())
        else:
            column, dtype = _membership_domain(operand, present)
            literals = [v.literal for v in present]
            if dtype == pl.Float64():
                literals = [float(x) for x in literals]  # type: ignore[arg-type]
            result = column.is_in(pl.Series(literals, dtype=dtype).unique().implode())
            if len(present) < len(values):
                # x IN (..., NULL) is true on a match and unknown otherwise, as in SQL.
                result = pl.when(result).then(True).otherwise(pl.lit(None, dtype=pl.Boolean()))
        return ~result if node.negated else result

    def like(self, node: Like) -> pl.Expr:
        operand = self.compile(node.operand)
        if operand.kind not in ("text", "null"):
            word = "ILIKE" if node.insensitive else "LIKE"
            raise ConditionError(f"{word} needs text, not {_describe(operand)}")
        text = operand.expr if operand.dtype == pl.String() else operand.expr.cast(pl.String())
        expr = _like(text, node.pattern, node.escape, node.insensitive)
        return ~expr if node.negated else expr

    # -- comparison ------------------------------------------------------------------------

    def compare(self, op: str, left: _Typed, right: _Typed) -> pl.Expr:
        return _compare(op, left, right)

    # -- values ----------------------------------------------------------------------------

    def arithmetic(self, node: Binary) -> _Typed:
        left, right = self.compile(node.left), self.compile(node.right)
        if node.op == "||":
            for side in (left, right):
                if side.kind not in ("text", "null"):
                    raise ConditionError(
                        f"|| joins text, not {_describe(side)}; CAST it AS VARCHAR first"
                    )
            joined = pl.concat_str([_as_text(left), _as_text(right)])
            return _Typed(joined, "text", pl.String(), "text")
        for side in (left, right):
            if not _numeric(side.kind):
                raise ConditionError(f"'{node.op}' needs numbers, not {_describe(side)}")
        a, b = left.expr, right.expr
        both_int = left.kind in ("int", "null") and right.kind in ("int", "null")
        if node.op == "/":
            quotient = a.cast(pl.Float64()) / b.cast(pl.Float64())
            return _Typed(_finite(quotient), "float", pl.Float64(), "a number")
        expr = _remainder(a, b) if node.op == "%" else _plain_arithmetic(node.op, a, b)
        if both_int:
            # Whole numbers: polars' x % 0 is already null, and nothing else leaves the finite.
            return _Typed(expr, "int", pl.Int64(), "a number")
        return _Typed(_finite(expr), "float", pl.Float64(), "a number")

    def case(self, node: Case) -> _Typed:
        subject = None if node.subject is None else self.compile(node.subject)
        results: list[_Typed] = []
        conditions: list[pl.Expr] = []
        for cond, value in node.whens:
            if subject is None:
                conditions.append(self.bool_expr(cond, "CASE WHEN"))
            else:
                conditions.append(self.compare("=", subject, self.compile(cond)))
            results.append(self.compile(value))
        otherwise = None if node.otherwise is None else self.compile(node.otherwise)
        kind, dtype = _common_kind([*results, *([otherwise] if otherwise else [])], "CASE")
        # Folded from the last branch, so that the first WHEN is tested first.
        out = pl.lit(None, dtype=dtype) if otherwise is None else _as(otherwise, dtype)
        for cond_expr, result in zip(reversed(conditions), reversed(results), strict=True):
            out = pl.when(cond_expr).then(_as(result, dtype)).otherwise(out)
        return _Typed(out, kind, dtype, "the CASE value")

    def cast(self, node: Cast) -> _Typed:
        operand = self.compile(node.operand)
        target = _CAST_TYPES[node.type_name]
        target_kind = _kind_of(target)
        unsupported = operand.kind == "other" or (
            # polars converts neither way between text and yes/no, nor dates to yes/no
            (operand.kind, target_kind) in {("text", "bool"), ("temporal", "bool")}
        )
        if unsupported:
            hint = " (compare instead, e.g. x = 'yes')" if operand.kind == "text" else ""
            raise ConditionError(
                f"CAST of {_describe(operand)} to {node.type_name.upper()} is not supported{hint}"
            )
        expr = operand.expr.cast(target, strict=node.strict)
        return _Typed(expr, _kind_of(target), target, f"CAST AS {node.type_name.upper()}")

    def call(self, node: Call) -> _Typed:
        args = [self.compile(a) for a in node.args]
        name = node.name
        handler = _FUNCTION_HANDLERS.get(name)
        assert handler is not None, name
        return handler(name, args)


def _bool(expr: pl.Expr) -> _Typed:
    return _Typed(expr, "bool", pl.Boolean(), "a yes/no value")


_NO_EXPR = pl.lit(None)


def _literal(value: object, *, expr: bool = True) -> _Typed:
    """A literal's type and value; `expr=False` skips building its polars expression (IN lists
    only need the values, and thousands of pl.lit calls are the slow part of a long list)."""
    if value is None:
        return _Typed(_NO_EXPR, "null", None, "NULL", None)
    lit = pl.lit(value, dtype=pl.String() if isinstance(value, str) else None) if expr else _NO_EXPR
    if isinstance(value, bool):
        return _Typed(lit, "bool", pl.Boolean(), str(value).upper(), value)
    if isinstance(value, int):
        return _Typed(lit, "int", pl.Int64(), f"the number {value}", value)
    if isinstance(value, float):
        return _Typed(lit, "float", pl.Float64(), f"the number {value}", value)
    assert isinstance(value, str)
    shown = f"'{value}'" if len(value) <= _MAX_QUOTED else "a text value"
    return _Typed(lit, "text", pl.String(), shown, value)


def _temporal_literal(text: str, dtype: pl.DataType) -> _Typed:
    try:
        if dtype == pl.Date():
            value: object = dt.date.fromisoformat(text)
        elif isinstance(dtype, pl.Datetime):
            value = dt.datetime.fromisoformat(text)
        elif dtype == pl.Time():
            value = dt.time.fromisoformat(text)
        else:
            raise ValueError
    except ValueError:
        raise ConditionError(
            f"'{text[:_MAX_QUOTED]}' is not a {dtype} value (write dates as 'YYYY-MM-DD')"
        ) from None
    return _Typed(pl.lit(value, dtype=dtype), "temporal", dtype, f"'{text}'", value)


def _coerce(value: _Typed, other: _Typed) -> _Typed:
    """A text literal compared with a date/time column is read as that date/time."""
    if value.kind == "text" and other.kind == "temporal" and isinstance(value.literal, str):
        assert other.dtype is not None
        return _temporal_literal(value.literal, other.dtype)
    return value


def _compare(op: str, left: _Typed, right: _Typed) -> pl.Expr:
    left, right = _coerce(left, right), _coerce(right, left)
    _check_comparable(op, left, right)
    a, b = left.expr, right.expr
    if op == "=":
        return a == b
    if op == "<>":
        return a != b
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    return a >= b


def _membership_domain(operand: _Typed, values: Sequence[_Typed]) -> tuple[pl.Expr, pl.DataType]:
    """The operand and the dtype in which `operand IN (values)` is tested."""
    column = operand.expr
    assert operand.dtype is not None
    if operand.kind in ("int", "float"):
        if operand.kind == "int" and all(v.kind == "int" for v in values):
            target: pl.DataType = pl.Int64()
        else:
            target = pl.Float64()
    elif operand.kind == "text":
        target = pl.String()
    else:
        target = operand.dtype
    return (column if operand.dtype == target else column.cast(target)), target


def _check_comparable(op: str, left: _Typed, right: _Typed) -> None:
    kinds = {left.kind, right.kind}
    if "null" in kinds:
        return
    if "other" in kinds:
        raise ConditionError(f"'{op}' cannot compare {_describe(left)} and {_describe(right)}")
    if kinds <= {"int", "float"} or len(kinds) == 1:
        if left.kind == "temporal" and left.dtype != right.dtype:
            raise ConditionError(f"'{op}' cannot compare {_describe(left)} and {_describe(right)}")
        return
    raise ConditionError(f"'{op}' cannot compare {_describe(left)} with {_describe(right)}")


def _common_kind(values: Sequence[_Typed], what: str) -> tuple[Kind, pl.DataType]:
    kinds = {v.kind for v in values} - {"null"}
    if not kinds:
        return "null", pl.Null()
    if kinds <= {"int", "float"}:
        return ("int", pl.Int64()) if kinds == {"int"} else ("float", pl.Float64())
    if len(kinds) == 1:
        (kind,) = kinds
        dtypes = {v.dtype for v in values if v.kind != "null"}
        if kind == "text":
            return "text", pl.String()
        if len(dtypes) == 1:
            (dtype,) = dtypes
            assert dtype is not None
            return kind, dtype
    shown = ", ".join(sorted({_KIND_WORDS[k] for k in kinds}))
    raise ConditionError(f"the values of {what} mix {shown}")


def _as(value: _Typed, dtype: pl.DataType) -> pl.Expr:
    if value.dtype == dtype:
        return value.expr
    return value.expr.cast(dtype)


def _as_number(value: _Typed) -> pl.Expr:
    # polars has no arithmetic on its Null dtype (a column of nulls only, or NULL).
    return value.expr.cast(pl.Float64()) if value.kind == "null" else value.expr


def _as_text(value: _Typed) -> pl.Expr:
    return value.expr if value.dtype == pl.String() else value.expr.cast(pl.String())


def _plain_arithmetic(op: str, a: pl.Expr, b: pl.Expr) -> pl.Expr:
    return a + b if op == "+" else a - b if op == "-" else a * b


_NON_FINITE = pl.Series([math.inf, -math.inf, math.nan], dtype=pl.Float64())


def _finite(number: pl.Expr) -> pl.Expr:
    """`number` with infinities and NaN made null, as SQL makes x / 0 and ln(0) NULL.

    polars gives +inf for 1 / 0, -inf for ln(0), NaN for sqrt(-1) and 0.0 % 0.0; a condition
    such as `10 / visits > 100` would match every case with no visits. replace() tests values
    by total equality (NaN equals NaN), and reads `number` once, unlike a when/then.
    """
    return number.replace(_NON_FINITE, None)


def _remainder(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    # SQL's remainder takes the sign of the dividend; polars' % takes the divisor's.
    floor_mod = a % b
    wrong_sign = (floor_mod != 0) & ((floor_mod < 0) != (a < 0))
    return pl.when(wrong_sign).then(floor_mod - b).otherwise(floor_mod)


def _membership(node: Node) -> tuple[str, list[object]] | None:
    """(column, values) when `node` is `column = literal`, `literal = column` or an IN list."""
    if isinstance(node, Binary) and node.op == "=":
        for col, lit in ((node.left, node.right), (node.right, node.left)):
            if isinstance(col, Column) and isinstance(lit, Lit) and lit.value is not None:
                return col.name, [lit.value]
    if (
        isinstance(node, InList)
        and not node.negated
        and isinstance(node.operand, Column)
        and all(item.value is not None for item in node.items)
    ):
        return node.operand.name, [item.value for item in node.items]
    return None


def _like(text: pl.Expr, pattern: str, escape: str | None, insensitive: bool) -> pl.Expr:
    parts: list[str] = []  # regex pieces
    literal: list[str] = []  # the pattern's characters when it has no wildcard
    wild = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if escape is not None and char == escape and i + 1 < len(pattern):
            i += 1
            parts.append(re.escape(pattern[i]))
            literal.append(pattern[i])
        elif char == "%":
            parts.append(".*")
            wild = True
        elif char == "_":
            parts.append(".")
            wild = True
        else:
            parts.append(re.escape(char))
            literal.append(char)
        i += 1
    if not insensitive:
        # The common shapes as plain string tests, which are faster than a regex.
        core = pattern[1:-1] if len(pattern) >= 2 else ""
        if not wild:
            return text == pl.lit("".join(literal))
        if escape is None and "_" not in pattern:
            if pattern.count("%") == 1 and pattern.endswith("%"):
                return text.str.starts_with(pattern[:-1])
            if pattern.count("%") == 1 and pattern.startswith("%"):
                return text.str.ends_with(pattern[1:])
            if (
                pattern.count("%") == 2
                and pattern.startswith("%")
                and pattern.endswith("%")
                and core
            ):
                return text.str.contains(core, literal=True)
    flags = "(?is)" if insensitive else "(?s)"
    return text.str.contains(f"{flags}^{''.join(parts)}$")


# -- functions ---------------------------------------------------------------------------------


def _need(name: str, value: _Typed, kinds: tuple[Kind, ...], word: str) -> None:
    if value.kind not in (*kinds, "null"):
        raise ConditionError(f"{name}() needs {word}, not {_describe(value)}")


def _text_fn(name: str, args: list[_Typed]) -> _Typed:
    for arg in args:
        _need(name, arg, ("text",), "text")
    s = _as_text(args[0])
    if name in ("length", "char_length", "character_length"):
        return _Typed(s.str.len_chars(), "int", pl.UInt32(), "a number")
    if name == "starts_with":
        return _bool(s.str.starts_with(_as_text(args[1])))
    if name == "ends_with":
        return _bool(s.str.ends_with(_as_text(args[1])))
    if name == "replace":
        out = s.str.replace_all(_as_text(args[1]), _as_text(args[2]), literal=True)
        return _Typed(out, "text", pl.String(), "text")
    if name == "concat":
        return _Typed(
            pl.concat_str([_as_text(a) for a in args], ignore_nulls=True),
            "text",
            pl.String(),
            "text",
        )
    transform: dict[str, Callable[[pl.Expr], pl.Expr]] = {
        "lower": lambda e: e.str.to_lowercase(),
        "upper": lambda e: e.str.to_uppercase(),
        "trim": lambda e: e.str.strip_chars(),
        "ltrim": lambda e: e.str.strip_chars_start(),
        "rtrim": lambda e: e.str.strip_chars_end(),
    }
    return _Typed(transform[name](s), "text", pl.String(), "text")


def _substr(name: str, args: list[_Typed]) -> _Typed:
    _need(name, args[0], ("text",), "text")
    bounds = []
    for arg, what in zip(args[1:], ("start", "count"), strict=False):
        value = arg.literal
        if not (isinstance(value, int) and not isinstance(value, bool)):
            raise ConditionError(f"{name}() needs a whole number literal as its {what}")
        if value < (1 if what == "start" else 0):
            raise ConditionError(f"{name}() {what} must be at least {1 if what == 'start' else 0}")
        bounds.append(value)
    count = bounds[1] if len(bounds) > 1 else None
    return _Typed(_as_text(args[0]).str.slice(bounds[0] - 1, count), "text", pl.String(), "text")


def _math_fn(name: str, args: list[_Typed]) -> _Typed:
    for arg in args:
        _need(name, arg, ("int", "float"), "a number")
    x = _as_number(args[0])
    is_int = args[0].kind == "int"
    if name == "abs":
        return _Typed(x.abs(), args[0].kind, args[0].dtype, "a number")
    if name == "sign":
        return _Typed(x.sign(), args[0].kind, args[0].dtype, "a number")
    if name in ("floor", "ceil", "ceiling"):
        if is_int:
            return _Typed(x, "int", args[0].dtype, "a number")
        out = x.cast(pl.Float64()).floor() if name == "floor" else x.cast(pl.Float64()).ceil()
        return _Typed(out, "float", pl.Float64(), "a number")
    if name == "round":
        digits = 0
        if len(args) == 2:
            value = args[1].literal
            if not (isinstance(value, int) and not isinstance(value, bool)) or value < 0:
                raise ConditionError("round() needs a whole number of digits >= 0 as a literal")
            digits = value
        if is_int:
            return _Typed(x, "int", args[0].dtype, "a number")
        return _Typed(x.cast(pl.Float64()).round(digits), "float", pl.Float64(), "a number")
    if name == "mod":
        if all(a.kind in ("int", "null") for a in args):
            return _Typed(_remainder(x, args[1].expr), "int", pl.Int64(), "a number")
        return _Typed(_finite(_remainder(x, args[1].expr)), "float", pl.Float64(), "a number")
    f = x.cast(pl.Float64())
    if name in ("power", "pow"):
        out = f.pow(args[1].expr.cast(pl.Float64()))
    elif name == "sqrt":
        out = f.sqrt()
    elif name == "exp":
        out = f.exp()
    elif name == "ln":
        out = f.log()
    else:
        out = f.log10()
    return _Typed(_finite(out), "float", pl.Float64(), "a number")


def _choice_fn(name: str, args: list[_Typed]) -> _Typed:
    if name == "nullif":
        a, b = args
        equal = _compare("=", a, b)
        return _Typed(pl.when(equal).then(None).otherwise(a.expr), a.kind, a.dtype, a.label)
    kind, dtype = _common_kind(args, f"{name}()")
    if kind == "other":
        raise ConditionError(f"{name}() needs comparable values")
    exprs = [_as(a, dtype) for a in args]
    if name == "coalesce":
        out = pl.coalesce(exprs)
    elif name == "greatest":
        out = pl.max_horizontal(exprs)
    else:
        out = pl.min_horizontal(exprs)
    return _Typed(out, kind, dtype, f"the {name} value")


_FUNCTION_HANDLERS: dict[str, Callable[[str, list[_Typed]], _Typed]] = {
    **dict.fromkeys(
        _words(
            "lower upper trim ltrim rtrim length char_length character_length starts_with "
            "ends_with replace concat"
        ),
        _text_fn,
    ),
    "substr": _substr,
    "substring": _substr,
    **dict.fromkeys(
        _words("abs sign round floor ceil ceiling sqrt exp ln log10 power pow mod"), _math_fn
    ),
    **dict.fromkeys(_words("coalesce nullif greatest least"), _choice_fn),
}


def compile_condition(
    condition: str | Condition, schema: pl.Schema | Mapping[str, pl.DataType]
) -> pl.Expr:
    """A Boolean polars expression for `condition` over a table of `schema`; null reads False.

    Raises ConditionError when the text does not parse, is not allowed, names a column the
    schema lacks, or does not fit the column types (or is not a yes/no condition).
    """
    parsed = parse_condition(condition) if isinstance(condition, str) else condition
    schema = pl.Schema(schema)
    unknown = [name for name in parsed.columns if name not in schema]
    if unknown:
        raise UnknownColumnsError(unknown, parsed, schema)
    compiler = _Compiler(schema)
    value = compiler.compile(parsed.tree)
    if value.kind not in ("bool", "null"):
        hint = ""
        if isinstance(parsed.tree, Column):
            hint = f"; compare it with a value, e.g. {parsed.tree.name} = 'value'"
        raise ConditionError(f"must be a yes/no condition, but it gives {_describe(value)}{hint}")
    result = value.expr.cast(pl.Boolean()).fill_null(False)
    if not parsed.columns:
        # A condition on literals alone is one value: repeat it so that it fills any table,
        # even in a select of nothing else.
        result = pl.repeat(result, pl.len())
    return result


class UnknownColumnsError(ConditionError):
    """The condition names columns the case table does not have."""

    def __init__(self, names: Sequence[str], condition: Condition, schema: pl.Schema) -> None:
        self.names = tuple(names)
        quoted = ", ".join(f"'{n}'" for n in names)
        noun = "column" if len(names) == 1 else "columns"
        hint = ""
        if _quoted_names(condition.tree) & set(names):
            hint = " (double quotes name a column; write text values in single quotes: 'text')"
        super().__init__(f"unknown {noun} {quoted}{hint}; the case table has: {_list(schema)}")


def _quoted_names(node: Node) -> set[str]:
    found: set[str] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Column) and current.quoted:
            found.add(current.name)
        stack.extend(_children(current))
    return found


_MAX_LISTED_COLUMNS = 30


def _list(schema: pl.Schema) -> str:
    names = list(schema.names())
    shown = ", ".join(names[:_MAX_LISTED_COLUMNS])
    if len(names) > _MAX_LISTED_COLUMNS:
        shown += f" and {len(names) - _MAX_LISTED_COLUMNS} more"
    return shown or "(no columns)"

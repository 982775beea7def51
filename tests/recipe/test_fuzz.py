"""Fuzzing ``ganlab check``: malformed recipes made by random mutations of the shipped ones.

Each mutant goes through the CLI in-process, ``main(["check", path])``, with a fixed seed:
it must end in exit status 0 (it is still a valid recipe) or 2 (one line per problem),
never raise, never print a traceback, and stay within a time and an output bound.
"""

import random
import time

import pytest

from ganlab import cli
from ganlab.components.loading import load_registry
from tests.conftest import ROOT

SEED = 18
CASES = 400
PER_CASE_S = 1.0
MAX_OUTPUT = 20_000  # characters of stdout and stderr together, for one recipe
RECIPES = sorted((ROOT / "recipes").glob("*.yaml"))

SCALARS = [
    ".inf", "-.inf", ".nan", "1e999", "-1e999", "null", "~", "true", "no", "''", '""', "x", "-1", "0",
    "4294967296", "1000000000000000", "9" * 5000, "0x" + "f" * 5000, "1e-400", "[]", "{}", "[1, [2, [3]]]",
    "{a: {b: {c: 1}}}", "*nowhere", "&a", "!!python/object/apply:os.system ['true']", "!!binary aGk=",
    "!!set {a, b}", "2001-13-45", "2001-12-14", "12:30:45", "'é'", "zoo:", "mlp:", ":", "- 1", "? [a]",
    "{x: 1, x: 2}", "'" + "long " * 2000 + "'", "[" * 300 + "]" * 300, "'\\u0000'", "\"\\x00\"", "0o17", "+.5",
]


def mutate(text: str, rng: random.Random) -> bytes:
    lines = text.splitlines(keepends=True) or ["\n"]
    for _ in range(rng.choice([1, 1, 1, 2, 3])):
        i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
        op = rng.choice(
            ["delete", "duplicate", "swap", "indent", "dedent", "tab", "value", "value", "key", "nest", "bomb",
             "truncate", "bytes", "anchor"]
        )
        line = lines[i]
        if op == "delete" and len(lines) > 1:
            del lines[i]
        elif op == "duplicate":
            lines.insert(j, line)
        elif op == "swap":
            lines[i], lines[j] = lines[j], lines[i]
        elif op == "indent":
            lines[i] = " " * rng.choice([1, 2, 4]) + line
        elif op == "dedent":
            lines[i] = line.lstrip(" ")
        elif op == "tab":
            lines[i] = "\t" + line
        elif op == "value" and ":" in line:
            lines[i] = line.split(":", 1)[0] + ": " + rng.choice(SCALARS) + "\n"
        elif op == "key" and ":" in line:
            key, rest = line.split(":", 1)
            indent = key[: len(key) - len(key.lstrip())]
            new_key = rng.choice(["? [a, b]\n" + indent, "1", "null", "'" + "k" * 500 + "'", "<<"])
            lines[i] = indent + new_key + ":" + rest
        elif op == "nest":
            depth = rng.choice([40, 1000, 10_000])
            lines.insert(i, f"deep: {'[' * depth}1{']' * depth}\n")
        elif op == "bomb":
            levels = ", ".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10))
            lines.insert(i, f"{rng.choice(['junk', 'training'])}: {{a0: &a0 [lol], {levels}}}\n")
        elif op == "truncate":
            lines[i] = line[: rng.randrange(len(line) + 1)]
            del lines[i + 1:]
        elif op == "anchor" and ":" in line:
            lines[i] = line.rstrip("\n") + " &x\n"
            lines.insert(j, "again: *x\n")
        elif op == "bytes":
            cut = rng.randrange(len(line) + 1)
            noise = bytes(rng.randrange(256) for _ in range(rng.choice([1, 3, 20])))
            return ("".join(lines[:i]) + line[:cut]).encode() + noise + (line[cut:] + "".join(lines[i + 1:])).encode()
    return "".join(lines).encode()


@pytest.fixture(scope="module")
def registry():
    return load_registry()


def test_mutated_recipes_exit_0_or_2_in_one_line_each(tmp_path, monkeypatch, capsys, registry):
    monkeypatch.setattr(cli, "load_registry", lambda: registry)  # the plugins are loaded once, not per case
    rng = random.Random(SEED)
    failures, statuses, start = [], {0: 0, 2: 0}, time.perf_counter()
    for case in range(CASES):
        source = rng.choice(RECIPES)
        path = tmp_path / f"case{case}.yaml"
        path.write_bytes(mutate(source.read_text(), rng))
        began = time.perf_counter()
        try:
            status = cli.main(["check", str(path)])
        except BaseException as exc:  # noqa: BLE001  (any escape is the failure under test)
            status = f"raised {type(exc).__name__}: {str(exc)[:200]}"
        took = time.perf_counter() - began
        out, err = capsys.readouterr()
        problems = []
        if status not in (0, 2):
            problems.append(f"status {status}")
        if "Traceback" in out + err:
            problems.append("a traceback")
        if len(out) + len(err) > MAX_OUTPUT:
            problems.append(f"{len(out) + len(err):,} characters of output")
        if took > PER_CASE_S:
            problems.append(f"{took:.1f} s")
        if status == 2 and not all(line.startswith("ganlab: error: ") for line in err.splitlines()):
            problems.append(f"stderr not one 'ganlab: error:' line per problem: {err[:300]!r}")
        if problems:
            failures.append(f"case {case} (from {source.name}, kept as {path}): {', '.join(problems)}")
        else:
            path.unlink()
        statuses[status] = statuses.get(status, 0) + 1
    assert not failures, "\n".join(failures[:20])
    assert statuses[2] > CASES // 2, statuses  # the mutations do break most recipes
    assert time.perf_counter() - start < 30

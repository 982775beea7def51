"""Recipe text that breaks a YAML reader: each case one line naming the file (and line), exit 2,
no traceback, in bounded time and output; and ``--set`` values held to the same bounds."""

import time

import pytest

from ganlab import GanlabError
from ganlab.cli import main
from ganlab.recipe import yaml_io
from ganlab.recipe.validate import load_recipe
from tests.recipe.test_validate import BASE


def refused(tmp_path, reg, content, overrides=()):
    """The lines of the GanlabError that reading ``content`` (str or bytes) as a recipe raises."""
    path = tmp_path / "r.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(GanlabError) as err:
        load_recipe(path, reg, overrides)
    return [line.replace(str(path), "r.yaml") for line in err.value.lines]


def test_a_latin1_byte_in_a_comment_names_the_line_and_the_byte(tmp_path, reg):
    content = BASE.replace("training:", "# caf\xe9 au lait\ntraining:").encode("latin-1")
    assert refused(tmp_path, reg, content) == [
        "r.yaml:10: not UTF-8 text (byte 0xe9 at column 6): a recipe is a YAML text file; save it as UTF-8"
    ]


def test_a_binary_file_is_one_line(tmp_path, reg):
    (line,) = refused(tmp_path, reg, bytes(range(256)) * 4)
    assert line.startswith("r.yaml:") and "not UTF-8 text" in line or "not a YAML text" in line
    (line,) = refused(tmp_path, reg, b"data: mnist\n\x00\x01\x02")  # valid UTF-8, but control characters
    assert line == "r.yaml:2: not a YAML text: character #x0000 is not allowed"


def test_a_byte_order_mark_is_fine(tmp_path, reg):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode())
    assert load_recipe(path, reg)["training"]["epochs"] == 2


@pytest.mark.parametrize("opening, closing", [("[", "]"), ("{a: ", "}"), ("- ", "")])
def test_deep_nesting_is_refused_before_python_recurses(tmp_path, reg, opening, closing):
    if opening == "- ":
        text = "x:\n" + "".join("  " * i + "- \n" for i in range(200)) + "  " * 200 + "- 1\n"
    else:
        text = "x: " + opening * 5000 + "1" + closing * 5000 + "\n"
    (line,) = refused(tmp_path, reg, text)
    assert line.startswith("r.yaml:") and f"nested more than {yaml_io.MAX_DEPTH} levels deep" in line


def laughs(levels=9, width=9, mapping=False):
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels + 1):
        refs = ", ".join(f"{'k%d: ' % j if mapping else ''}*a{i - 1}" for j in range(width))
        lines.append(f"a{i}: &a{i} {'{' if mapping else '['}{refs}{'}' if mapping else ']'}")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["top", "unknown_section", "override"])
def test_an_alias_bomb_is_refused_quickly_in_one_short_line(tmp_path, reg, where):
    start = time.perf_counter()
    if where == "top":
        lines = refused(tmp_path, reg, laughs())
    elif where == "unknown_section":  # a mapping bomb under a section ganlab does not know
        bomb = "\n".join("  " + line for line in laughs(mapping=True).splitlines())
        lines = refused(tmp_path, reg, BASE + "junk:\n" + bomb + "\n")
    else:
        value = "{" + laughs(mapping=True).replace("\n", ", ").rstrip(", ") + "}"
        lines = refused(tmp_path, reg, BASE, [f"data.split={value}"])
    assert time.perf_counter() - start < 2
    (line,) = lines
    assert len(line) < 400 and f"expands to more than {yaml_io.MAX_NODES:,} values" in line
    assert line.startswith("--set data.split=" if where == "override" else "r.yaml:")


def test_modest_aliases_are_allowed(tmp_path, reg):
    text = BASE.replace("training:\n", "training:\n  g_optimizer: &opt {learning_rate: 0.001}\n  d_optimizer: *opt\n")
    (tmp_path / "r.yaml").write_text(text)
    recipe = load_recipe(tmp_path / "r.yaml", reg)
    assert recipe["training"]["d_optimizer"] == {"learning_rate": 0.001}


def test_an_alias_inside_what_it_names_is_refused(tmp_path, reg):
    (line,) = refused(tmp_path, reg, BASE + "output: &o {dir: *o}\n")
    assert line == "r.yaml:12: an alias refers to the mapping or list that contains it"


def test_duplicate_keys_name_both_lines(tmp_path, reg):
    text = BASE.replace("epochs: 2", "epochs: 2\n  batch_size: 4\n  batch_size: 8") + "training:\n  steps: 5\n"
    assert refused(tmp_path, reg, text) == [
        "r.yaml:13: duplicate key 'batch_size' (first at line 12): merge the two into one",
        "r.yaml:14: duplicate key 'training' (first at line 10): merge the two into one",
    ]


def test_a_complex_key_is_named_as_such(tmp_path, reg):
    assert refused(tmp_path, reg, BASE + "? [a, b]\n: 1\n? {c: 1}\n: 2\n") == [
        "r.yaml:12: a key must be a plain name, found a list",
        "r.yaml:14: a key must be a plain name, found a mapping",
    ]


@pytest.mark.parametrize(
    "value, message",
    [
        ("2001-13-45", "r.yaml:11: cannot read the value '2001-13-45': month must be in 1..12"),
        ("9" * 5000, "r.yaml:11: cannot read the value '99999"),
    ],
)
def test_a_value_that_cannot_be_constructed_names_its_line(tmp_path, reg, value, message):
    (line,) = refused(tmp_path, reg, BASE.replace("epochs: 2", f"epochs: {value}"))
    assert line.startswith(message) and len(line) < 400


def test_values_quoted_in_messages_are_cut_short(tmp_path, reg):
    long_name = "n" * 10_000
    lines = refused(tmp_path, reg, BASE.replace("name: bce", f"name: [{long_name}]") + f"? {long_name}\n: 1\n")
    assert len(lines) == 2 and all(len(line) < 400 for line in lines)
    assert lines[0].startswith("r.yaml:12: nnnnn") and "…: unknown section" in lines[0]
    assert lines[1].startswith("r.yaml:9: loss.name: ") and "…" in lines[1]


def test_an_integer_too_large_for_any_value_is_refused_as_it_is_read(tmp_path, reg):
    huge_hex = "0x" + "f" * 50_000  # an int Python makes without a digit limit, too long to print
    (line,) = refused(tmp_path, reg, BASE.replace("epochs: 2", f"epochs: {huge_hex}"))
    assert line == "r.yaml:11: the integer <an integer of 60206 digits> is too large for any recipe value"


def test_a_huge_file_is_refused_unread(tmp_path, reg):
    (line,) = refused(tmp_path, reg, BASE + "#" * (yaml_io.MAX_BYTES + 1))
    assert line == f"r.yaml: larger than {yaml_io.MAX_BYTES // 1024} KiB: not a recipe (a YAML file of a few KB)"


def test_too_many_values_are_refused_while_composing(tmp_path, reg):
    (line,) = refused(tmp_path, reg, BASE + "junk: [" + "1, " * (yaml_io.MAX_NODES + 10) + "]\n")
    assert line == f"r.yaml:12: more than {yaml_io.MAX_NODES:,} values: not a recipe"


def test_the_cli_prints_one_line_and_exits_2(tmp_path, capsys):
    path = tmp_path / "r.yaml"
    path.write_bytes(b"\xff\xfe binary")
    assert main(["check", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"ganlab: error: {path}:1: not UTF-8 text " \
        "(byte 0xff at column 1): a recipe is a YAML text file; save it as UTF-8\n"


@pytest.mark.parametrize(
    "override, expected",
    [
        # a value that is not a word where a component name is expected
        (
            "generator.name=zoo:",
            "--set generator.name: expected the name of a registered generator (a word such as 'mlp', or "
            "'plugin:mlp'), found a mapping {'zoo': null} (YAML reads `word:` as a mapping: quote a name that ends "
            "in ':'); `ganlab list` shows the names",
        ),
        ("loss.name=[bce]", "--set loss.name: expected the name of a registered loss"),
        ("loss.name=3", "--set loss.name: expected the name of a registered loss (a word such as 'mlp', or "
                        "'plugin:mlp'), found int 3"),
        # a key the override creates is blamed on the override, not on the file
        ("nosuch.x=1", "--set nosuch.x: unknown section (sections: data, generator"),
        ("training.nosuch.deeper=1", "--set training.nosuch.deeper: unknown key (keys: epochs"),
        # a mapping set whole: its keys are named under the override
        ("training={epochs: 0}", "--set training: training.epochs: must be in [1, 1000000], found 0"),
        ("x=&a [*a]", "--set x=&a [*a]: the value is not valid YAML (an alias refers to the mapping or list"),
    ],
)
def test_override_edge_cases_blame_the_override(tmp_path, reg, override, expected):
    (line,) = refused(tmp_path, reg, BASE, [override])
    assert line.startswith(expected)

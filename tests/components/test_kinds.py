"""The kind table: one row per kind, and what reads it."""

import dataclasses

import pytest

import ganlab
from ganlab.components import hookspecs
from ganlab.components.kinds import KINDS, Kind
from ganlab.components.listing import as_text
from ganlab.components.loading import load_registry, make_plugin_manager
from ganlab.recipe.schema import COMPONENT_KINDS

SPECS = [f for f in vars(hookspecs).values() if hasattr(f, "ganlab_spec")]


def test_kinds_iterate_as_names_in_listing_order():
    assert list(KINDS) == ["generator", "discriminator", "loss", "dataset"]
    assert ganlab.KINDS is KINDS and "loss" in KINDS and "losses" not in KINDS
    assert all(isinstance(KINDS[name], Kind) and KINDS[name].name == name for name in KINDS)
    with pytest.raises(dataclasses.FrozenInstanceError):
        KINDS["loss"].plural = "loss functions"


def test_every_hook_specification_is_one_kinds_hook():
    assert sorted(f.__name__ for f in SPECS) == sorted(kind.hook_name for kind in KINDS.values())
    assert all(KINDS[kind].hook in SPECS for kind in KINDS)
    callers = {name for name in dir(make_plugin_manager().hook) if name.startswith("register_")}
    assert callers == {kind.hook_name for kind in KINDS.values()}


def test_check_names_are_what_check_plugin_prints():
    names = {kind: [name for name, _ in KINDS[kind].named_checks()] for kind in KINDS}
    assert names == {
        "generator": ["output", "gradients", "round trip"],
        "discriminator": ["output", "gradients", "round trip", "frozen in g step"],
        "loss": ["values", "gradients", "round trip"],
        "dataset": ["images", "round trip"],
    }


def test_recipe_sections_read_the_rows_in_recipe_order():
    assert [kind.section for kind in COMPONENT_KINDS] == ["data", "generator", "discriminator", "loss"]
    assert {kind.name for kind in COMPONENT_KINDS} == set(KINDS)
    assert all(kind is KINDS[kind.name] for kind in COMPONENT_KINDS)


def test_listing_headings_are_the_plurals():
    text = as_text(load_registry(entry_points=False))
    assert [line for line in text.splitlines() if line.endswith(":")] == [
        f"{kind.plural}:" for kind in KINDS.values()
    ]

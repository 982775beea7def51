"""The schema of ganlab's own recipe keys, and the order of a recipe's sections."""

from ganlab.recipe.schema import REQUIRED_SECTIONS, SECTIONS, describe_settings
from tests.conftest import ROOT


def test_every_setting_is_documented():
    docs = (ROOT / "docs" / "recipes.md").read_text()
    missing = [key for key, *_ in describe_settings() if f"`{key}`" not in docs]
    assert not missing, f"keys missing from docs/recipes.md: {missing}"


def test_the_component_sections_come_first_in_recipe_order():
    assert SECTIONS == ["data", "generator", "discriminator", "loss", "training", "output", "distribute", "provenance"]
    assert REQUIRED_SECTIONS == ["data", "generator", "discriminator", "loss", "training"]

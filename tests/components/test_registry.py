"""The registry: components by kind and name, and how a name resolves."""

import pytest

from ganlab import GanlabError
from ganlab.components.loading import load_registry
from tests import toy_plugins as toys


def registry(*plugins):
    return load_registry(plugins=[(type(p).__name__.lower(), p) for p in plugins], entry_points=False)


def test_unknown_component_suggests_nearest():
    reg = registry(toys.Toys())
    with pytest.raises(GanlabError, match="unknown generator 'dens' — did you mean 'dense'"):
        reg.resolve("generator", "dens")


def test_duplicate_name_is_an_error_naming_both_plugins_and_the_way_out():
    reg = registry(toys.Toys(), toys.Rival())
    with pytest.raises(GanlabError) as err:
        reg.resolve("generator", "dense")
    assert "'toys' and 'rival'" in str(err.value) and "'toys:dense' or 'rival:dense'" in str(err.value)
    assert reg.resolve("generator", "rival:dense").plugin == "rival"
    assert reg.resolve("generator", "toys:dense").plugin == "toys"

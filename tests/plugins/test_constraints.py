"""The first-party components declare the constraints their builders enforce, so ``ganlab check``
refuses those values up front (without TensorFlow), and the builders still refuse them themselves."""

import typing

import pytest

from ganlab import GanlabError, Range
from ganlab.cli import main
from ganlab.components.loading import load_registry
from ganlab.components.params import rule_problem
from tests.conftest import ROOT

VANILLA = ROOT / "recipes" / "vanilla_mnist.yaml"
CGAN = ROOT / "recipes" / "cgan_mnist.yaml"
DCGAN = ROOT / "recipes" / "dcgan_mnist.yaml"


@pytest.mark.parametrize(
    "recipe, override, expected",
    [
        (VANILLA, "generator.hidden=[64,0]", "--set generator.hidden: entry 2 of 2: must be >= 1, found 0"),
        (VANILLA, "discriminator.dropout=1", "--set discriminator.dropout: must be in [0, 1), found 1.0"),
        (VANILLA, "generator.bn_momentum=0", "--set generator.bn_momentum: must be in (0, 1), found 0.0"),
        (VANILLA, "loss.label_smoothing=2", "--set loss.label_smoothing: must be in [0, 0.5), found 2.0"),
        (VANILLA, "loss.r1_gamma=-1", "--set loss.r1_gamma: must be >= 0, found -1.0"),
        (VANILLA, "loss.label_smoothing=.inf", "--set loss.label_smoothing: must be a finite number, found inf"),
        (VANILLA, "loss={name: lsgan, a: 1, b: 1}", "--set loss: loss 'lsgan': b must be greater than a, "
                                                    "found a=1.0, b=1.0"),
        (VANILLA, "loss={name: wgan_gp, gp_weight: -1}", "--set loss: loss.gp_weight: must be >= 0, found -1.0"),
        (DCGAN, "generator.base_filters=0", "--set generator.base_filters: must be >= 1, found 0"),
        (DCGAN, "discriminator.dense_units=-1", "--set discriminator.dense_units: must be >= 0, found -1"),
        (CGAN, "generator.embed_dim=0", "--set generator.embed_dim: must be >= 1, found 0"),
        (CGAN, "discriminator.hidden=[0]", "--set discriminator.hidden: entry 1 of 1: must be >= 1, found 0"),
    ],
)
def test_check_refuses_what_the_builder_would_in_one_line(capsys, recipe, override, expected):
    assert main(["check", str(recipe), "--set", override]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == f"ganlab: error: {expected}\n"


def out_of_range(annotation):
    """A value that the annotation's first ``Range`` refuses, or None where it has none."""
    if typing.get_origin(annotation) in (typing.Union, type(int | None)):
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) is tuple:
        inner = out_of_range(typing.get_args(annotation)[0])
        return None if inner is None else (inner,)
    if typing.get_origin(annotation) is not typing.Annotated:
        return None
    base, *metadata = typing.get_args(annotation)
    ranges = [m for m in metadata if isinstance(m, Range)]
    if not ranges:
        return None
    r = ranges[0]
    value = (r.low if r.low_open else r.low - 1) if r.low is not None else (r.high if r.high_open else r.high + 1)
    return base(value)


CONTEXT = {"latent_dim": 8, "image_shape": (28, 28, 1)}


def constrained():
    registry = load_registry()
    for kind in ("generator", "discriminator", "loss"):
        for component in registry.components[kind]:
            if component.plugin in ("mlp", "dcgan", "losses"):
                for p in component.params:
                    bad = out_of_range(p.annotation)
                    if bad is not None:
                        yield pytest.param(component, p.name, bad, id=f"{kind}-{component.name}-{p.name}")


@pytest.mark.parametrize("component, name, bad", list(constrained()))
def test_the_builder_keeps_its_own_check(component, name, bad):
    """The annotation and the builder agree: what check refuses, the builder refuses too (second line)."""
    with pytest.raises(TypeError):
        next(p for p in component.params if p.name == name).check(bad)
    context = {k: v for k, v in CONTEXT.items() if k in component.builder.__code__.co_varnames}
    with pytest.raises(GanlabError, match=name):
        component.builder(**context, **{name: bad})


def test_lsgan_rule_and_builder_agree():
    loss = load_registry().resolve("loss", "lsgan")
    assert rule_problem(loss.builder, {"a": 0.0, "b": 1.0, "c": 1.0}) is None
    assert "b must be greater than a" in rule_problem(loss.builder, {"a": 2.0, "b": 1.0, "c": 1.0})
    with pytest.raises(GanlabError, match="b must be greater than a"):
        loss.builder(a=2.0, b=1.0)

"""Assembling a recipe's parts: the dataset, and G, D and the loss in one compiled
``AdversarialModel``; what ``ganlab run``, ``ganlab bench`` and ``ganlab eval`` share."""

from __future__ import annotations

import contextlib

import keras
import numpy as np

from ganlab import resources
from ganlab.errors import GanlabError
from ganlab.training import distribute, infogan
from ganlab.training.auto_config import settled
from ganlab.training.engine import AdversarialModel
from ganlab.training.optimizers import adam
from ganlab.training.options import EngineOptions


def load_data(recipe):
    """Build the recipe's dataset (``Component.build`` checks the dataset contract).

    For a conditional recipe the dataset must have labels (see ``num_classes``).
    """
    data = recipe.components["data"].build(**recipe.component_params("data"))
    num_classes(recipe, data)
    return data


def num_classes(recipe, data):
    """The classes a conditional recipe's G and D are built for (largest label + 1); None if unconditional.

    ``ganlab.recipe.validate`` has already made sure that G and D are both conditional or neither.
    """
    if not recipe.components["generator"].conditional:
        return None
    g, d, name = recipe["generator"]["name"], recipe["discriminator"]["name"], recipe["data"]["name"]
    if data.labels is None:
        raise GanlabError(
            f"generator '{g}' and discriminator '{d}' are conditional (they take labels) "
            f"but dataset '{name}' has no labels: "
            "use a labelled dataset (e.g. image_folder with labels: true) or unconditional models (mlp, dcgan)"
        )
    if len(data.labels) and int(np.min(data.labels)) < 0:
        raise GanlabError(
            f"dataset '{name}': a conditional GAN needs labels 0, 1, 2, ...; found {int(np.min(data.labels))}"
        )
    return int(np.max(data.labels)) + 1


def build_model(
    recipe, image_shape, steps_per_execution=1, placement=None, jit_compile=None, total_steps=1, classes=None
):
    """G, D and the loss from the recipe, assembled into a compiled AdversarialModel.

    With a ``placement`` (see ``ganlab.training.distribute``) everything is built in its
    strategy's scope, and batch norm is synchronised across replicas if the recipe says
    so. ``jit_compile`` overrides the recipe's ``training.jit_compile``; ``total_steps``
    is the run's length in train steps, over which learning-rate schedules stretch.
    ``classes`` is the class count of a conditional recipe (see ``num_classes``). ``auto``
    precision and jit_compile are decided by ``auto_config.resolve`` before this (the run,
    bench); left undecided, they build as ``auto_config.UNRESOLVED`` says.
    """
    check_memory(recipe, image_shape, classes)
    sizes = " or ".join(["training.latent_dim", *resources.size_settings(recipe, "generator")])
    sizes += "".join(f" or {key}" for key in resources.size_settings(recipe, "discriminator"))
    with resources.allocating("G, D and their optimizers", sizes):
        with placement.strategy.scope() if placement else contextlib.nullcontext():
            return _build_model(recipe, image_shape, steps_per_execution, placement, jit_compile, total_steps, classes)


def check_memory(recipe, image_shape, classes=None, available=None):
    """Refuse a recipe whose rough memory estimate (``ganlab.resources``) exceeds this machine's
    available memory (or ``available`` bytes), before anything is allocated."""
    t, comps = recipe["training"], recipe.components
    context = {"image_shape": image_shape} if classes is None else {"image_shape": image_shape, "num_classes": classes}
    g = resources.count_weights(
        comps["generator"].builder, {"latent_dim": t["latent_dim"], **context, **recipe.component_params("generator")}
    )
    d = resources.count_weights(comps["discriminator"].builder, {**context, **recipe.component_params("discriminator")})
    parts = resources.estimate(recipe, image_shape, (g[0], d[0]), (g[1], d[1]))
    resources.check_fits(parts, available)


def _build_model(recipe, image_shape, steps_per_execution, placement, jit_compile, total_steps, classes):
    t = recipe["training"]
    comps = recipe.components
    infogan.check(t["info_modes"], t["latent_dim"], classes)
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(settled(t, "precision"))  # layers take the policy when built
    context = {"image_shape": image_shape} if classes is None else {"image_shape": image_shape, "num_classes": classes}
    try:
        generator = comps["generator"].build(
            latent_dim=t["latent_dim"], **context, **recipe.component_params("generator")
        )
        discriminator = comps["discriminator"].build(**context, **recipe.component_params("discriminator"))
    finally:
        keras.config.set_dtype_policy(previous)
    loss = comps["loss"].build(**recipe.component_params("loss"))
    mode_head = None
    if t["info_modes"]:
        generator = infogan.with_modes(generator, t["info_modes"])
        mode_head = infogan.mode_head(discriminator, t["info_modes"])
    if placement and placement.distributed and recipe["distribute"]["sync_batch_norm"]:
        distribute.synchronize_batch_norm(generator, discriminator)  # before the EMA copy is cloned from G
    options = EngineOptions.from_recipe(recipe, total_steps=total_steps, num_classes=classes)
    model = AdversarialModel(generator, discriminator, loss, options, mode_head=mode_head)
    jit_compile = settled(t, "jit_compile") if jit_compile is None else jit_compile
    model.compile(
        adam(recipe, "d", total_steps),
        adam(recipe, "g", total_steps),
        jit_compile=jit_compile,
        steps_per_execution=steps_per_execution,
    )
    return model

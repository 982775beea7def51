"""The kinds of component: one row per kind, which everything that differs by kind reads.

A row names the kind's hook, its recipe section, what ganlab passes its builders, what a
builder must return (checked on every build) and the conformance checks ``ganlab
check-plugin`` runs on it. A new kind is one new row (and its hook specification, contract
and checks); listing, loading, recipe validation and the conformance runner follow it.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from ganlab.components import contracts, hookspecs
from ganlab.conformance import dataset_checks, loss_checks, model_checks


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of component."""

    #: How ganlab names the kind: ``ganlab list KIND``, ``Registry.resolve(KIND, ...)``, messages.
    name: str
    #: The heading ``ganlab list`` shows.
    plural: str
    #: The hook specification (in :mod:`ganlab.components.hookspecs`) through which plugins register this kind.
    hook: Callable
    #: The recipe section that names a component of this kind.
    section: str
    #: Where that section comes among the component sections of a recipe (and of a run's recipe.yaml).
    section_order: int
    #: Arguments ganlab passes every builder of this kind; they are not recipe parameters.
    context_args: tuple[str, ...]
    #: Arguments ganlab passes only to builders that name them. A generator or discriminator
    #: builder with a ``num_classes`` parameter is *conditional*: ganlab passes the dataset's
    #: class count (largest label + 1), and the model takes ``[z, labels]`` (G) or
    #: ``[images, labels]`` (D), labels int32 of shape (batch,).
    optional_context_args: tuple[str, ...]
    #: ``contract(where, built, kwargs)``: raises a one-line GanlabError unless ``built``, what a
    #: builder returned for ``kwargs``, is what this kind's builders must return.
    contract: Callable
    #: The conformance checks after "parameters" and "builds", in the order they run.
    checks: tuple[Callable, ...]

    @property
    def hook_name(self) -> str:
        return self.hook.__name__

    def named_checks(self) -> list[tuple[str, Callable]]:
        """``(name, check)`` for each check; the name, which ``check-plugin`` prints, is the
        function's without the kind: ``generator_round_trip`` is ``round trip``."""
        return [(check.__name__.removeprefix(f"{self.name}_").replace("_", " "), check) for check in self.checks]


_ROWS = (
    Kind(
        name="generator",
        plural="generators",
        hook=hookspecs.register_generators,
        section="generator",
        section_order=1,
        context_args=("latent_dim", "image_shape"),
        optional_context_args=("num_classes",),
        contract=contracts.check_generator,
        checks=(model_checks.generator_output, model_checks.generator_gradients, model_checks.generator_round_trip),
    ),
    Kind(
        name="discriminator",
        plural="discriminators",
        hook=hookspecs.register_discriminators,
        section="discriminator",
        section_order=2,
        context_args=("image_shape",),
        optional_context_args=("num_classes",),
        contract=contracts.check_discriminator,
        checks=(
            model_checks.discriminator_output,
            model_checks.discriminator_gradients,
            model_checks.discriminator_round_trip,
            model_checks.discriminator_frozen_in_g_step,
        ),
    ),
    Kind(
        name="loss",
        plural="losses",
        hook=hookspecs.register_losses,
        section="loss",
        section_order=3,
        context_args=(),
        optional_context_args=(),
        contract=contracts.check_loss,
        checks=(loss_checks.loss_values, loss_checks.loss_gradients, loss_checks.loss_round_trip),
    ),
    Kind(
        name="dataset",
        plural="datasets",
        hook=hookspecs.register_datasets,
        section="data",
        section_order=0,  # first: the data decides image_shape and num_classes for the models
        context_args=(),
        optional_context_args=(),
        contract=contracts.check_dataset,
        checks=(dataset_checks.dataset_images, dataset_checks.dataset_round_trip),
    ),
)

#: Every kind by name, in the order ganlab lists them. Iterating gives the names, as
#: ``for kind in KINDS`` and ``kind in KINDS`` always did; ``KINDS[name]`` is the row.
KINDS: dict[str, Kind] = {kind.name: kind for kind in _ROWS}

"""The engine's options: the recipe's ``training`` settings the train step reads, as one typed object.

A new training option is one ``Setting`` in ``ganlab.recipe.schema``, one field here
(named as its ``training`` key, so ``from_recipe`` reads it) and the code that uses it:
``ganlab.training.engine`` for the steps, ``ganlab.training.d_input`` for a transform of
what D sees. Plain Python: nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses

#: Fields given by the run rather than read from ``training``.
FROM_THE_RUN = ("total_steps", "num_classes")

#: ``training.diffaugment``'s names, in the order they apply (``ganlab.training.diffaugment`` has the ops).
DIFFAUGMENT_POLICIES = ("color", "translation", "cutout")


def diffaugment_policy(value) -> tuple[str, ...] | None:
    """``training.diffaugment`` (``"color,cutout"``, a list of names, or null/empty) as a tuple of names.

    None when off. An unknown name raises ``ValueError`` naming the valid ones; the policies
    apply in ``DIFFAUGMENT_POLICIES``' order whatever order the recipe gives them in.
    """
    names = value.split(",") if isinstance(value, str) else list(value or ())
    names = {name.strip() for name in names} - {""}
    unknown = sorted(names - set(DIFFAUGMENT_POLICIES))
    if unknown:
        raise ValueError(
            f"unknown augmentation {', '.join(map(repr, unknown))}: the policies are "
            f"{', '.join(DIFFAUGMENT_POLICIES)} (a comma-separated string or a list; null: off)"
        )
    return tuple(p for p in DIFFAUGMENT_POLICIES if p in names) or None


@dataclasses.dataclass(frozen=True)
class EngineOptions:
    """What ``AdversarialModel`` needs besides G, D and the loss.

    The recipe fields keep their ``training`` key's name and default (see
    ``ganlab.recipe.schema.SETTINGS``); ``total_steps`` is the run's length in train steps
    (annealing reads it), ``num_classes`` the class count of a conditional GAN (None:
    unconditional G and D).
    """

    latent_dim: int = 100
    noise: str = "normal"
    d_steps: int = 1
    d_batch: str = "separate"
    seed: int = 0
    ema: float | None = None
    instance_noise: float = 0.0
    diffaugment: tuple[str, ...] | None = None
    ada_target: float | None = None
    ada_kimg: int = 500
    info_modes: int = 0
    info_weight: float = 1.0
    total_steps: int = 1
    num_classes: int | None = None

    @classmethod
    def from_recipe(cls, recipe, total_steps: int = 1, num_classes: int | None = None) -> EngineOptions:
        """The options of a validated recipe, for a run of ``total_steps`` train steps."""
        training = recipe["training"]
        read = {f.name: training[f.name] for f in dataclasses.fields(cls) if f.name not in FROM_THE_RUN}
        read["diffaugment"] = diffaugment_policy(read["diffaugment"])
        return cls(**read, total_steps=total_steps, num_classes=num_classes)

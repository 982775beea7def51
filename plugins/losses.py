"""Adversarial losses on D's raw outputs: binary cross-entropy (``bce``) and least squares (``lsgan``).

The losses are written with ``keras.ops`` so they run inside a compiled (``tf.function``,
XLA) train step. Inputs are cast to float32 first, because a mixed-precision D may hand
over bfloat16 logits; results are float32 scalars. Keras is imported inside the methods
so that importing this module (``ganlab list``) stays cheap.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from ganlab import GanlabError, Loss, hookimpl


@hookimpl
def register_losses(register):
    register("bce", bce)
    register("lsgan", lsgan)


def bce(generator_loss: Literal["non_saturating", "minimax"] = "non_saturating", label_smoothing: float = 0.0) -> Loss:
    """Binary cross-entropy on logits (Goodfellow et al. 2014), with one-sided label smoothing.

    D's loss is the *average* of the real and fake terms, 0.5 * (BCE(real, 1 - s) +
    BCE(fake, 0)): the mean BCE of one concatenated real+fake batch, as in the classic
    Keras GAN, so separate and concatenated D batches report the same value.

    Parameters:
        generator_loss: ``non_saturating`` (G minimises BCE(fake, 1) = mean softplus(-logit),
            strong gradients early in training) or ``minimax`` (G maximises D's loss on fakes,
            i.e. minimises -mean softplus(logit), the original game).
        label_smoothing: s in [0, 0.5); real targets become 1 - s, fake targets stay 0.
    """
    return BCELoss(generator_loss, label_smoothing)


def lsgan(a: float = 0.0, b: float = 1.0, c: float = 1.0) -> Loss:
    """Least squares GAN (Mao et al. 2017) on D's raw outputs.

    D minimises 0.5 * mean((D(x) - b)^2) + 0.5 * mean((D(G(z)) - a)^2); G minimises
    0.5 * mean((D(G(z)) - c)^2). D's accuracy counts outputs above (a + b) / 2 as "real".

    Parameters:
        a: D's target for fakes.
        b: D's target for reals; must be greater than ``a``.
        c: the value G wants D to give its fakes.
    """
    return LSGANLoss(a, b, c)


@dataclasses.dataclass(frozen=True)
class BCELoss(Loss):
    """See :func:`bce`."""

    generator_loss: str
    label_smoothing: float

    def __post_init__(self):
        if self.generator_loss not in ("non_saturating", "minimax"):
            raise GanlabError(f"loss bce: generator_loss must be 'non_saturating' or 'minimax', found {self.generator_loss!r}")
        if not 0 <= self.label_smoothing < 0.5:
            raise GanlabError(f"loss bce: label_smoothing must be in [0, 0.5), found {self.label_smoothing!r}")

    def d_loss(self, real_logits, fake_logits):
        from keras import ops

        real, fake = _float32(real_logits), _float32(fake_logits)
        # BCE(x, target t) = softplus(x) - t*x = softplus(-x) + (1 - t)*x; exact and stable.
        real_term = ops.mean(ops.softplus(-real) + self.label_smoothing * real)
        fake_term = ops.mean(ops.softplus(fake))
        return 0.5 * (real_term + fake_term)

    def g_loss(self, fake_logits):
        from keras import ops

        fake = _float32(fake_logits)
        if self.generator_loss == "minimax":
            return -ops.mean(ops.softplus(fake))
        return ops.mean(ops.softplus(-fake))


@dataclasses.dataclass(frozen=True)
class LSGANLoss(Loss):
    """See :func:`lsgan`."""

    a: float
    b: float
    c: float

    def __post_init__(self):
        # D's accuracy assumes "real" means "above the threshold", so b must exceed a.
        if not self.a < self.b:
            raise GanlabError(f"loss lsgan: b must be greater than a, found a={self.a!r}, b={self.b!r}")

    @property
    def threshold(self) -> float:
        return (self.a + self.b) / 2

    def d_loss(self, real_logits, fake_logits):
        from keras import ops

        real, fake = _float32(real_logits), _float32(fake_logits)
        return 0.5 * ops.mean(ops.square(real - self.b)) + 0.5 * ops.mean(ops.square(fake - self.a))

    def g_loss(self, fake_logits):
        from keras import ops

        return 0.5 * ops.mean(ops.square(_float32(fake_logits) - self.c))


def _float32(x):
    from keras import ops

    return ops.cast(x, "float32")

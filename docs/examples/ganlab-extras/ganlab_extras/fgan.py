"""f-GAN losses (Nowozin, Cseke & Tomioka 2016): train G to minimise a chosen f-divergence.

For a convex f with f(1) = 0, D_f(P || Q) = E_Q[f(p/q)] is bounded below by
sup_T E_P[T(x)] - E_Q[f*(T(x))], where f* is f's convex conjugate. D plays T through an
output activation T = g_f(v) of its raw logit v that keeps T inside f*'s domain; D
maximises the bound and G, with the paper's "alternative" (non-saturating) objective,
maximises E_Q[T(G(z))]. The table of g_f and f* is the paper's Table 6, written here in
terms of v in numerically stable forms:

==================  ==================  ========================  ==================
divergence          T = g_f(v)          f*(T) in terms of v       f'(1), D's "real"
==================  ==================  ========================  ==================
kl                  v                   exp(v - 1)                v > 1
reverse_kl          -exp(-v)            v - 1                     v > 0
pearson             v                   v**2 / 4 + v              v > 0
squared_hellinger   1 - exp(-v)         exp(v) - 1                v > 0
jensen_shannon      log 2 - softplus(-v) softplus(v) - log 2      v > 0
==================  ==================  ========================  ==================

``jensen_shannon`` is the original GAN up to constants (twice ganlab's ``bce`` minus
log 4); the others change what G is pushed towards: reverse KL is mode-seeking (sharp
samples, may drop digits), KL mass-covering (covers every digit, blurrier). D's
threshold is f'(1): where T sits when real and generated densities are equal.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Literal

from ganlab import GanlabError, Loss

#: divergence -> the logit above which D judges an image real (f'(1) mapped back through g_f).
THRESHOLDS = {"kl": 1.0, "reverse_kl": 0.0, "pearson": 0.0, "squared_hellinger": 0.0, "jensen_shannon": 0.0}


def fgan(
    divergence: Literal["kl", "reverse_kl", "pearson", "squared_hellinger", "jensen_shannon"] = "squared_hellinger",
) -> Loss:
    """f-GAN loss (Nowozin et al. 2016): G minimises the chosen f-divergence to the data.

    Parameters:
        divergence: which f-divergence, see the module docstring. The default, squared
            Hellinger, is bounded like the original GAN's Jensen-Shannon but weighs
            rare modes differently; ``kl`` and ``pearson`` let D's objective grow without
            bound and need a careful learning rate.
    """
    return FGANLoss(divergence)


@dataclasses.dataclass(frozen=True)
class FGANLoss(Loss):
    """See :func:`fgan`."""

    divergence: str

    def __post_init__(self):
        if self.divergence not in THRESHOLDS:
            raise GanlabError(
                f"loss fgan: divergence must be one of {', '.join(THRESHOLDS)}, found {self.divergence!r}"
            )

    @property
    def threshold(self) -> float:
        return THRESHOLDS[self.divergence]

    def activation(self, v):
        """T = g_f(v): D's variational function, from its raw logit."""
        from keras import ops

        if self.divergence in ("kl", "pearson"):
            return v
        if self.divergence == "reverse_kl":
            return -ops.exp(-v)
        if self.divergence == "squared_hellinger":
            return 1.0 - ops.exp(-v)
        return math.log(2.0) - ops.softplus(-v)

    def conjugate(self, v):
        """f*(g_f(v)), simplified so that it stays finite where g_f(v) nears f*'s domain edge."""
        from keras import ops

        if self.divergence == "kl":
            return ops.exp(v - 1.0)
        if self.divergence == "reverse_kl":
            return v - 1.0
        if self.divergence == "pearson":
            return ops.square(v) / 4.0 + v
        if self.divergence == "squared_hellinger":
            return ops.exp(v) - 1.0
        return ops.softplus(v) - math.log(2.0)

    def d_loss(self, real_logits, fake_logits):
        from keras import ops

        real, fake = ops.cast(real_logits, "float32"), ops.cast(fake_logits, "float32")
        return ops.mean(self.conjugate(fake)) - ops.mean(self.activation(real))

    def g_loss(self, fake_logits):
        from keras import ops

        return -ops.mean(self.activation(ops.cast(fake_logits, "float32")))

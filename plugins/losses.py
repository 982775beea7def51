"""Adversarial losses on D's raw outputs: binary cross-entropy (``bce``), least squares
(``lsgan``), hinge (``hinge``), Wasserstein with gradient penalty (``wgan_gp``) and the
relativistic average BCE (``ragan``).

The losses are written with ``keras.ops`` so they run inside a compiled (``tf.function``,
XLA) train step. Inputs are cast to float32 first, because a mixed-precision D may hand
over bfloat16 logits; results are float32 scalars. Keras is imported inside the methods
so that importing this module (``ganlab list``) stays cheap.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated, Literal

from ganlab import AtLeast, GanlabError, Loss, Range, hookimpl, params_rule


@hookimpl
def register_losses(register):
    register("bce", bce)
    register("lsgan", lsgan)
    register("hinge", hinge)
    register("wgan_gp", wgan_gp)
    register("ragan", ragan)


def bce(
    generator_loss: Literal["non_saturating", "minimax"] = "non_saturating",
    label_smoothing: Annotated[float, Range(0, 0.5, high_open=True)] = 0.0,
    r1_gamma: Annotated[float, AtLeast(0)] = 0.0,
    r1_images: Annotated[int, AtLeast(0)] = 0,
    r1_every: Annotated[int, AtLeast(1)] = 1,
) -> Loss:
    """Binary cross-entropy on logits (Goodfellow et al. 2014), with one-sided label smoothing and R1.

    D's loss is the *average* of the real and fake terms, 0.5 * (BCE(real, 1 - s) +
    BCE(fake, 0)): the mean BCE of one concatenated real+fake batch, as in the classic
    Keras GAN, so separate and concatenated D batches report the same value.

    Parameters:
        generator_loss: ``non_saturating`` (G minimises BCE(fake, 1) = mean softplus(-logit),
            strong gradients early in training) or ``minimax`` (G maximises D's loss on fakes,
            i.e. minimises -mean softplus(logit), the original game).
        label_smoothing: s in [0, 0.5); real targets become 1 - s, fake targets stay 0.
        r1_gamma: gamma of the R1 penalty (Mescheder et al. 2018), gamma / 2 * mean over
            real images of ||grad_x D(x)||^2, added to D's loss; 0 turns it off. It keeps
            D from sharpening around the real images, which stops the late drift of an
            unconditional GAN. With batch norm in D an image's gradient also runs through
            the batch's statistics; a DCGAN with batch norm in D still trained well with
            it (row O of docs/results.md).
        r1_images: compute R1 on only the first n real images of each D batch (0: all of
            them). The penalty is a mean over images, so for a D without batch norm a
            subset of the (shuffled) batch estimates it without bias, and the gradient of
            a gradient, the costliest part of a D step, is taken over n images instead of all.
        r1_every: lazy R1 (Karras et al. 2020): compute the penalty only on every k-th D step
            (D updates 0, k, 2k, ...), multiplied by k so that its mean weight is unchanged;
            the other steps skip the gradient of a gradient altogether. 1: every step.
    """
    return BCELoss(generator_loss, label_smoothing, r1_gamma, r1_images, r1_every)


def _a_below_b(params):
    if not params["a"] < params["b"]:
        return f"b must be greater than a, found a={params['a']!r}, b={params['b']!r}"
    return None


@params_rule(_a_below_b)
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


def hinge() -> Loss:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018), D's outputs as margins.

    D minimises mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))); G minimises -mean(D(G(z))).
    """
    return HingeLoss()


def wgan_gp(gp_weight: Annotated[float, AtLeast(0)] = 10.0) -> Loss:
    """Wasserstein GAN with gradient penalty (Gulrajani et al. 2017); use k = 5 D steps.

    D (the critic) minimises mean(D(G(z))) - mean(D(x)) + gp_weight * mean((||grad D(x_hat)||_2 - 1)^2),
    where x_hat = e * x + (1 - e) * G(z) with one e ~ U(0, 1) per image and the gradient's
    L2 norm is taken over all of an image's pixels. G minimises -mean(D(G(z))). The
    penalty is per image, so D must not use batch norm (use layer norm or none).

    Parameters:
        gp_weight: lambda, the weight of the gradient penalty (10 in the paper).
    """
    return WGANGPLoss(gp_weight)


def ragan() -> Loss:
    """Relativistic average GAN with BCE (Jolicoeur-Martineau 2018): D judges reals against the average fake.

    With C(x) D's raw output, D minimises 0.5 * [BCE(C(x) - mean C(G(z)), 1) +
    BCE(C(G(z)) - mean C(x), 0)] and G the same with the targets swapped, so G's loss also
    needs D's outputs on a real batch (means over the batch, per replica when distributed).
    """
    return RaGANLoss()


@dataclasses.dataclass(frozen=True)
class BCELoss(Loss):
    """See :func:`bce`."""

    generator_loss: str
    label_smoothing: float
    r1_gamma: float = 0.0
    r1_images: int = 0
    r1_every: int = 1

    @property
    def penalty_needs_step(self) -> bool:
        """Whether ``penalty`` wants D's update count as ``step``: for lazy R1 only."""
        return self.r1_every > 1

    def __post_init__(self):
        if self.generator_loss not in ("non_saturating", "minimax"):
            raise GanlabError(
                f"loss bce: generator_loss must be 'non_saturating' or 'minimax', found {self.generator_loss!r}"
            )
        if not 0 <= self.label_smoothing < 0.5:
            raise GanlabError(f"loss bce: label_smoothing must be in [0, 0.5), found {self.label_smoothing!r}")
        if not self.r1_gamma >= 0:
            raise GanlabError(f"loss bce: r1_gamma must be >= 0, found {self.r1_gamma!r}")
        if not self.r1_images >= 0:
            raise GanlabError(f"loss bce: r1_images must be >= 0 (0: all of D's real batch), found {self.r1_images!r}")
        if not self.r1_every >= 1:
            raise GanlabError(f"loss bce: r1_every must be >= 1 (1: R1 on every D step), found {self.r1_every!r}")

    def d_loss(self, real_logits, fake_logits):
        from keras import ops

        real, fake = _float32(real_logits), _float32(fake_logits)
        # BCE(x, target t) = softplus(x) - t*x = softplus(-x) + (1 - t)*x; exact and stable.
        real_term = ops.mean(ops.softplus(-real) + self.label_smoothing * real)
        fake_term = ops.mean(ops.softplus(fake))
        return 0.5 * (real_term + fake_term)

    def g_loss(self, fake_logits, real_logits=None):
        from keras import ops

        fake = _float32(fake_logits)
        if self.generator_loss == "minimax":
            return -ops.mean(ops.softplus(fake))
        return ops.mean(ops.softplus(-fake))

    def penalty(self, discriminator, real, fake, seed, step=None):
        """R1; with ``r1_every`` k > 1, k x R1 on the D steps whose ``step`` is a multiple of k, else 0.

        Without a ``step`` (a caller that does not pass one) R1 is computed every time.
        """
        if self.r1_gamma == 0:
            return None
        from keras import ops

        def r1(weight):
            images = real[: self.r1_images] if self.r1_images else real
            return weight * 0.5 * self.r1_gamma * ops.mean(ops.square(_input_gradient_norms(discriminator, images)))

        if self.r1_every == 1 or step is None:
            return r1(1.0)
        import tensorflow as tf

        due = tf.equal(tf.math.floormod(tf.cast(step, tf.int64), self.r1_every), 0)
        return tf.cond(due, lambda: r1(float(self.r1_every)), lambda: tf.constant(0.0))


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

    def g_loss(self, fake_logits, real_logits=None):
        from keras import ops

        return 0.5 * ops.mean(ops.square(_float32(fake_logits) - self.c))


class HingeLoss(Loss):
    """See :func:`hinge`."""

    def d_loss(self, real_logits, fake_logits):
        from keras import ops

        return ops.mean(ops.relu(1.0 - _float32(real_logits))) + ops.mean(ops.relu(1.0 + _float32(fake_logits)))

    def g_loss(self, fake_logits, real_logits=None):
        from keras import ops

        return -ops.mean(_float32(fake_logits))


@dataclasses.dataclass(frozen=True)
class WGANGPLoss(Loss):
    """See :func:`wgan_gp`."""

    gp_weight: float

    def __post_init__(self):
        if not self.gp_weight >= 0:
            raise GanlabError(f"loss wgan_gp: gp_weight must be >= 0, found {self.gp_weight!r}")

    def d_loss(self, real_logits, fake_logits):
        from keras import ops

        return ops.mean(_float32(fake_logits)) - ops.mean(_float32(real_logits))

    def g_loss(self, fake_logits, real_logits=None):
        from keras import ops

        return -ops.mean(_float32(fake_logits))

    def penalty(self, discriminator, real, fake, seed):
        if self.gp_weight == 0:
            return None
        return self.gp_weight * gradient_penalty(discriminator, real, fake, seed)


def gradient_penalty(discriminator, real, fake, seed):
    """mean over images of (||grad_x D(x)|| - 1)^2 at x = e * real + (1 - e) * fake, e ~ U(0, 1) per image."""
    import keras
    import tensorflow as tf
    from keras import ops

    shape = [tf.shape(real)[0]] + [1] * (len(real.shape) - 1)
    e = ops.cast(keras.random.uniform(shape, seed=seed), real.dtype)
    mixed = e * real + (1.0 - e) * ops.cast(fake, real.dtype)
    return ops.mean(ops.square(_input_gradient_norms(discriminator, mixed) - 1.0))


def _input_gradient_norms(discriminator, images):
    """||grad_x D(x)||_2 per image, over all of its pixels (x = each of ``images``)."""
    import tensorflow as tf
    from keras import ops

    images = tf.convert_to_tensor(images)
    with tf.GradientTape() as tape:
        tape.watch(images)
        scores = _float32(discriminator(images, training=True))
    grads = _float32(tape.gradient(scores, images))  # without batch norm in D, each score depends on its own image only
    return ops.sqrt(ops.sum(ops.square(grads), axis=list(range(1, len(images.shape)))) + 1e-12)


class RaGANLoss(Loss):
    """See :func:`ragan`."""

    g_needs_real = True

    def d_loss(self, real_logits, fake_logits):
        return _relativistic(real_logits, fake_logits)

    def g_loss(self, fake_logits, real_logits=None):
        return _relativistic(fake_logits, real_logits)


def _relativistic(first, second):
    """0.5 * [BCE(first - mean(second), 1) + BCE(second - mean(first), 0)], BCE on logits."""
    from keras import ops

    first, second = _float32(first), _float32(second)
    ahead = first - ops.mean(second)
    behind = second - ops.mean(first)
    return 0.5 * (ops.mean(ops.softplus(-ahead)) + ops.mean(ops.softplus(behind)))


def _float32(x):
    from keras import ops

    return ops.cast(x, "float32")

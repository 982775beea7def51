"""The adversarial model: G, D and the alternating D / AM train step, as one ``keras.Model``.

Vocabulary of the classic Keras GAN write-ups, and where it lives here:

- **D step** (``_d_step``): D sees a real batch labelled real and G(z) labelled fake and is
  updated by ``d_optimizer``. G's output is computed outside the gradient tape: G is not
  trained here.
- **AM step** (``_g_step``): the adversarial model, G followed by a frozen D. Gradients of
  the G loss flow through D into G, and only G's variables are updated, by ``g_optimizer``.
  "Frozen" means D's weights do not change; D still runs in training mode (dropout on),
  as in the classic AM whose D layers are non-trainable but share the training phase.
- **k D steps per G step** (``d_steps``): each ``train_step`` receives ``k * batch_size``
  real images, runs k D steps on consecutive slices of it, then one AM step.
- **Losses that need more than logits**: a loss's ``penalty`` (e.g. WGAN-GP's gradient
  penalty) is added to D's loss inside D's tape; a relativistic loss (``g_needs_real``)
  also gets D's outputs on the last real slice in the AM step.
- **Conditional GANs** (``num_classes`` set): each train step receives ``(images,
  labels)``; G draws fakes for the labels of the real slice it is paired with (so fakes
  have the data's class frequencies), and D judges every image with its label: D(x, y),
  G(z, y). Without labels every call is the unconditional one, unchanged.
- **InfoGAN modes** (``mode_head`` set, see ``ganlab.training.infogan``): D's fakes also go
  through a head that guesses each fake's mode from z, and both D's and G's losses add
  the guess's cross-entropy; the head's weights are trained with D's.
- **What D sees** (``_for_d``): every image on its way into D, real or fake, in the D
  step and in the AM step, passes through ``ganlab.training.d_input`` (instance noise,
  and any transform added there), the one place that changes D's input. With ADA
  (``ganlab.training.ada``) each D step also hands D's outputs on its reals to ``ada``,
  whose p says how often the augmentations apply.
- **Spectral normalisation** (``ganlab.training.spectral_norm``): each D step starts with
  one power iteration on every ``SpectralNorm`` layer of D (the paper's Algorithm 1). The
  layers never assign when called, so this is the only place their state moves: D, u
  included, stays unchanged in the AM step.
- **Updates** (``_apply``, ``_update_ema``): when the step as a whole is not compiled with
  XLA, each optimizer's and the EMA's update is (``ganlab.training.fused_updates``). Each
  loss goes through its optimizer's ``scale_loss`` before the gradients are taken: the
  identity, except under ``mixed_float16`` where a ``LossScaleOptimizer`` scales it up
  (float16 gradients underflow) and unscales the gradients it applies.
- **Options**: the recipe's training settings arrive as one ``EngineOptions``
  (``ganlab.training.options``); ``ganlab.training.replicas`` holds what a replica does
  differently under ``tf.distribute``.

Because this is a ``keras.Model``, ``fit`` provides progress bars, callbacks,
``steps_per_execution``, ``jit_compile`` and ``tf.distribute`` support.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ganlab.training import ada, d_input, fused_updates, infogan, replicas, spectral_norm
from ganlab.training.options import EngineOptions

METRICS = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")


class AdversarialModel(keras.Model):
    """G and D trained against each other with a pluggable loss."""

    def __init__(self, generator, discriminator, loss, options: EngineOptions, mode_head=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial_loss = loss
        self.options = options
        self.noise_seed = keras.random.SeedGenerator(options.seed)
        self.ema_generator = _shadow(generator) if options.ema else None
        self.mode_head = mode_head  # InfoGAN: images -> (D's logits, mode logits), see ganlab.training.infogan
        self.ada = ada.from_options(options, loss.threshold)  # None without training.ada_target
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}
        self.fused = fused_updates.FusedUpdates()
        self.built = True  # G and D arrive built; spares fit a symbolic build under a strategy

    def compile(self, d_optimizer, g_optimizer, **kwargs):
        """Attach both optimizers and build their state now.

        Building the optimizer variables here, not lazily inside the first step, is what
        ``tf.distribute`` strategies require, and it lets a checkpoint be restored before
        training starts.
        """
        super().compile(**kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        d_optimizer.build(self.d_variables)
        g_optimizer.build(self.generator.trainable_variables)

    @property
    def d_variables(self):
        """What D's optimizer trains: D's weights, and the mode guess's with InfoGAN modes."""
        return (self.discriminator if self.mode_head is None else self.mode_head).trainable_variables

    @property
    def sampler(self):
        """The generator to draw samples from: the EMA copy when enabled, else G itself."""
        return self.ema_generator if self.ema_generator is not None else self.generator

    def _apply(self, key, optimizer, gradients, variables):
        """One optimizer update: compiled on its own where the step is not (see ``fused_updates``)."""
        if fused_updates.wanted(self.jit_compile, optimizer):
            self.fused.apply_gradients(key, optimizer, gradients, variables)
        else:
            replicas.apply_gradients(optimizer, gradients, variables)

    def _update_ema(self):
        if fused_updates.wanted(self.jit_compile):
            self.fused.run("ema", self._average)
        else:
            self._average()

    def _average(self):
        # Warm-up as in tf.train.ExponentialMovingAverage(num_updates=...): early on the
        # average follows G closely instead of staying near the initial weights.
        steps = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.options.ema, (1.0 + steps) / (10.0 + steps))
        for shadow, variable in zip(self.ema_generator.variables, self.generator.variables):
            if variable.trainable:
                shadow.assign(decay * shadow + (1.0 - decay) * variable)
            else:  # batch-norm statistics and seed state are copied, not averaged
                shadow.assign(variable)

    @property
    def metrics(self):
        return list(self.trackers.values())

    def sample_z(self, n):
        """A batch of ``n`` latent vectors from the recipe's noise distribution."""
        shape = (n, self.options.latent_dim)
        if self.options.noise == "uniform":
            return replicas.share(lambda s: keras.random.uniform(s, -1.0, 1.0, seed=self.noise_seed), shape)
        return replicas.share(lambda s: keras.random.normal(s, seed=self.noise_seed), shape)

    def call(self, z, training=False):
        return self.generator(z, training=training)

    def _generate(self, z, labels):
        """G(z), or G(z, y) for a conditional G, in training mode."""
        return self.generator(z if labels is None else [z, labels], training=True)

    def _judge(self, images, labels):
        """D's logits for ``images`` (with their labels, for a conditional D), in training mode."""
        return self.discriminator(images if labels is None else [images, labels], training=True)

    def _critic(self, labels):
        """D as a function of images alone, for ``Loss.penalty``: the labels are bound.

        A penalty then takes gradients with respect to the images only, conditional or not.
        """
        if labels is None:
            return self.discriminator
        return lambda images, training=False: self.discriminator([images, labels], training=training)

    def _for_d(self, images):
        """``images`` as D sees them: the one call into ``ganlab.training.d_input``."""
        p = None if self.ada is None else self.ada.p
        view = d_input.View(self.g_optimizer.iterations, self.options.total_steps, self.noise_seed, p)
        return d_input.for_d(images, self.options, view)

    def _judge_with_modes(self, images, labels):
        """(D's logits, D's guesses of the InfoGAN modes), the guesses None without modes."""
        if self.mode_head is None:
            return self._judge(images, labels), None
        return self.mode_head(images, training=True)

    def _mode_loss(self, z, guesses):
        return self.options.info_weight * infogan.mode_loss(z, guesses)

    def _d_step(self, real, labels=None):
        spectral_norm.advance(self.discriminator)
        batch = tf.shape(real)[0]
        z = self.sample_z(batch)
        fake = tf.stop_gradient(self._generate(z, labels))
        fake = self._for_d(tf.cast(fake, real.dtype))
        real = self._for_d(real)
        with tf.GradientTape() as tape:
            if self.options.d_batch == "concat":
                both = None if labels is None else tf.concat([labels, labels], axis=0)
                logits, guesses = self._judge_with_modes(tf.concat([real, fake], axis=0), both)
                real_logits, fake_logits = logits[:batch], logits[batch:]
                guesses = None if guesses is None else guesses[batch:]
            else:
                real_logits = self._judge(real, labels)
                fake_logits, guesses = self._judge_with_modes(fake, labels)
            d_loss = self.adversarial_loss.d_loss(real_logits, fake_logits)
            if guesses is not None:
                d_loss = d_loss + self._mode_loss(z, guesses)
            penalty = self.adversarial_loss.penalty(self._critic(labels), real, fake, self.noise_seed, **self._step())
            if penalty is not None:
                d_loss = d_loss + penalty
            scaled = self.d_optimizer.scale_loss(replicas.scale(d_loss))
        variables = self.d_variables
        self._apply("d", self.d_optimizer, tape.gradient(scaled, variables), variables)
        if self.ada is not None:
            self.ada.observe(real_logits)
        return d_loss, real_logits, fake_logits

    def _step(self):
        """``step``, D's update count, for a loss whose ``penalty`` asks for it (``penalty_needs_step``)."""
        return {"step": self.d_optimizer.iterations} if self.adversarial_loss.penalty_needs_step else {}

    def _g_step(self, real, labels=None):
        loss = self.adversarial_loss
        z = self.sample_z(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self._for_d(self._generate(z, labels))
            fake_logits, guesses = self._judge_with_modes(fake, labels)
            if loss.g_needs_real:  # relativistic: G's loss compares its fakes with reals
                g_loss = loss.g_loss(fake_logits, self._judge(self._for_d(real), labels))
            else:
                g_loss = loss.g_loss(fake_logits)
            if guesses is not None:
                g_loss = g_loss + self._mode_loss(z, guesses)
            scaled = self.g_optimizer.scale_loss(replicas.scale(g_loss))
        variables = self.generator.trainable_variables
        self._apply("g", self.g_optimizer, tape.gradient(scaled, variables), variables)
        return g_loss

    def train_step(self, real):
        labels = None
        if isinstance(real, (tuple, list)):  # (images, labels) from ganlab.training.stream.real_stream
            labels = real[1] if self.options.num_classes is not None else None
            real = real[0]
        batch = tf.shape(real)[0] // self.options.d_steps

        def part(i):  # the i-th slice of the images (and of their labels)
            return real[i * batch : (i + 1) * batch], None if labels is None else labels[i * batch : (i + 1) * batch]

        for i in range(self.options.d_steps):  # k is static: the loop unrolls into the graph
            d_loss, real_logits, fake_logits = self._d_step(*part(i))
        g_loss = self._g_step(*part(self.options.d_steps - 1))
        if self.ema_generator is not None:
            self._update_ema()
        threshold = self.adversarial_loss.threshold
        values = {
            "d_loss": d_loss,
            "g_loss": g_loss,
            "d_acc_real": tf.reduce_mean(tf.cast(tf.cast(real_logits, tf.float32) > threshold, tf.float32)),
            "d_acc_fake": tf.reduce_mean(tf.cast(tf.cast(fake_logits, tf.float32) <= threshold, tf.float32)),
        }
        for name, value in values.items():
            self.trackers[name].update_state(value)
        if replicas.logs_reduced_over_axis_0():
            return {name: tracker.result()[None] for name, tracker in self.trackers.items()}
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def _shadow(generator):
    """A copy of G with its own variables, starting from G's current weights."""
    shadow = keras.models.clone_model(generator)
    shadow.set_weights(generator.get_weights())
    shadow.output_range = getattr(generator, "output_range", (-1.0, 1.0))
    return shadow

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
- **InfoGAN modes** (``mode_head`` set, see ``ganlab.training.infogan``): D's fakes also go through a
  head that guesses each fake's mode from z, and both D's and G's losses add the
  guess's cross-entropy; the head's weights are trained with D's.

Because this is a ``keras.Model``, ``fit`` provides progress bars, callbacks,
``steps_per_execution``, ``jit_compile`` and ``tf.distribute`` support.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from ganlab.training import infogan

METRICS = ("d_loss", "g_loss", "d_acc_real", "d_acc_fake")


class AdversarialModel(keras.Model):
    """G and D trained against each other with a pluggable loss."""

    def __init__(
        self,
        generator,
        discriminator,
        loss,
        latent_dim,
        noise="normal",
        d_steps=1,
        d_batch="separate",
        seed=0,
        ema=None,
        instance_noise=0.0,
        mode_head=None,
        info_weight=1.0,
        total_steps=1,
        num_classes=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.adversarial_loss = loss
        self.latent_dim = latent_dim
        self.noise = noise
        self.d_steps = d_steps
        self.d_batch = d_batch
        self.noise_seed = keras.random.SeedGenerator(seed)
        self.ema_decay = ema
        self.ema_generator = _shadow(generator) if ema else None
        self.instance_noise = instance_noise
        self.mode_head = mode_head  # InfoGAN: images -> (D's logits, mode logits), see ganlab.training.infogan
        self.info_weight = info_weight
        self.total_steps = total_steps
        self.num_classes = num_classes  # None: unconditional G and D
        self.trackers = {name: keras.metrics.Mean(name=name) for name in METRICS}
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

    def _update_ema(self):
        # Warm-up as in tf.train.ExponentialMovingAverage(num_updates=...): early on the
        # average follows G closely instead of staying near the initial weights.
        steps = tf.cast(self.g_optimizer.iterations, tf.float32)
        decay = tf.minimum(self.ema_decay, (1.0 + steps) / (10.0 + steps))
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
        if self.noise == "uniform":
            return _replica_share(lambda shape: keras.random.uniform(shape, -1.0, 1.0, seed=self.noise_seed), (n, self.latent_dim))
        return _replica_share(lambda shape: keras.random.normal(shape, seed=self.noise_seed), (n, self.latent_dim))

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

    def _replica_scale(self, loss):
        # Each replica's loss is a mean over its share of the batch and the replicas'
        # gradients are summed, so dividing by their number makes N replicas with a
        # global batch B take the same step as one device with B.
        return loss / tf.cast(_replica()[0], loss.dtype)

    def _with_instance_noise(self, images):
        """Images plus N(0, s^2) noise, s annealed linearly from ``instance_noise`` to 0 over the run.

        Instance noise (Sonderby et al. 2016) blurs the real and generated distributions
        for D early on, so that they overlap and D's gradients stay informative.
        """
        if not self.instance_noise:
            return images
        progress = tf.minimum(tf.cast(self.g_optimizer.iterations, tf.float32) / float(self.total_steps), 1.0)
        std = tf.cast(self.instance_noise * (1.0 - progress), images.dtype)
        return images + std * _replica_share(lambda shape: keras.random.normal(shape, dtype=images.dtype, seed=self.noise_seed), tf.shape(images))

    def _judge_with_modes(self, images, labels):
        """(D's logits, D's guesses of the InfoGAN modes), the guesses None without modes."""
        if self.mode_head is None:
            return self._judge(images, labels), None
        return self.mode_head(images, training=True)

    def _mode_loss(self, z, guesses):
        return self.info_weight * infogan.mode_loss(z, guesses)

    def _d_step(self, real, labels=None):
        batch = tf.shape(real)[0]
        z = self.sample_z(batch)
        fake = tf.stop_gradient(self._generate(z, labels))
        fake = self._with_instance_noise(tf.cast(fake, real.dtype))
        real = self._with_instance_noise(real)
        with tf.GradientTape() as tape:
            if self.d_batch == "concat":
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
            penalty = self.adversarial_loss.penalty(self._critic(labels), real, fake, self.noise_seed)
            if penalty is not None:
                d_loss = d_loss + penalty
            scaled = self._replica_scale(d_loss)
        variables = self.d_variables
        _apply_gradients(self.d_optimizer, tape.gradient(scaled, variables), variables)
        return d_loss, real_logits, fake_logits

    def _g_step(self, real, labels=None):
        loss = self.adversarial_loss
        z = self.sample_z(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self._with_instance_noise(self._generate(z, labels))
            fake_logits, guesses = self._judge_with_modes(fake, labels)
            if loss.g_needs_real:  # relativistic: G's loss compares its fakes with reals
                g_loss = loss.g_loss(fake_logits, self._judge(self._with_instance_noise(real), labels))
            else:
                g_loss = loss.g_loss(fake_logits)
            if guesses is not None:
                g_loss = g_loss + self._mode_loss(z, guesses)
            scaled = self._replica_scale(g_loss)
        variables = self.generator.trainable_variables
        _apply_gradients(self.g_optimizer, tape.gradient(scaled, variables), variables)
        return g_loss

    def train_step(self, real):
        labels = None
        if isinstance(real, (tuple, list)):  # (images, labels) from ganlab.training.stream.real_stream
            labels = real[1] if self.num_classes is not None else None
            real = real[0]
        batch = tf.shape(real)[0] // self.d_steps

        def part(i):  # the i-th slice of the images (and of their labels)
            return real[i * batch : (i + 1) * batch], None if labels is None else labels[i * batch : (i + 1) * batch]

        for i in range(self.d_steps):  # k is static: the loop unrolls into the graph
            d_loss, real_logits, fake_logits = self._d_step(*part(i))
        g_loss = self._g_step(*part(self.d_steps - 1))
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
        if _logs_reduced_over_axis_0():
            return {name: tracker.result()[None] for name, tracker in self.trackers.items()}
        return {name: tracker.result() for name, tracker in self.trackers.items()}


def _replica():
    """(replicas in sync, this replica's index): (1, 0) without a strategy."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: not inside a train step
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def _replica_share(draw, shape):
    """``draw(shape)``, random numbers for this replica's share of a batch of ``shape[0]`` per replica.

    Under N replicas each replica draws for the whole global batch (N x shape[0] rows)
    from the shared seed and keeps its own rows: the replicas' numbers differ from each
    other, and together they are those one device draws for the global batch (the
    replicas' shares are consecutive rows of it, see ``ganlab.training.stream.real_stream``).
    """
    replicas, replica = _replica()
    if replicas == 1:
        return draw(shape)
    n = shape[0]
    rows = draw(tf.concat([[n * replicas], shape[1:]], axis=0))
    return rows[replica * n : (replica + 1) * n]


def _apply_gradients(optimizer, gradients, variables):
    """Apply one replica's ``gradients``; Keras sums them across replicas first.

    Keras clips each replica's gradients before that sum, so a global-norm clip
    (``training.optimizer.clip_norm``) would act on 1/N of the gradient. With a clip and
    several replicas the sum is made here instead, clipped as one device clips it, and
    each replica hands Keras 1/N of the result: within the clip norm, so Keras leaves it
    alone, and adding up to the clipped gradient.
    """
    replicas = _replica()[0]
    if replicas > 1 and optimizer.global_clipnorm:
        total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, gradients)
        gradients = [g / replicas for g in tf.clip_by_global_norm(total, optimizer.global_clipnorm)[0]]
    optimizer.apply_gradients(zip(gradients, variables))


def _logs_reduced_over_axis_0():
    """Whether ``fit`` reduces a step's logs with ``strategy.reduce(MEAN, value, axis=0)``.

    Keras does so under a multi-worker strategy (the same test as Keras's own), which fails
    for scalars (tensorflow/tensorflow#72388): there the step returns one-element vectors,
    and the mean over all replicas of all workers comes back as a scalar.
    """
    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


def _shadow(generator):
    """A copy of G with its own variables, starting from G's current weights."""
    shadow = keras.models.clone_model(generator)
    shadow.set_weights(generator.get_weights())
    shadow.output_range = getattr(generator, "output_range", (-1.0, 1.0))
    return shadow

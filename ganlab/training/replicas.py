"""One replica's part of a train step under ``tf.distribute``, and the same code on one device.

Keras's ``fit`` runs ``train_step`` once per replica, each on its share of the global
batch, and sums the replicas' gradients. What a GAN needs on top lives here: random
numbers drawn for the global batch (so N replicas see what one device sees), losses
scaled by the number of replicas, gradient clipping of the summed gradient, and logs a
multi-worker strategy can reduce. Without a strategy each function is the plain one.
"""

from __future__ import annotations

import tensorflow as tf


def replica():
    """(replicas in sync, this replica's index): (1, 0) without a strategy."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: not inside a train step
        return 1, 0
    return context.num_replicas_in_sync, context.replica_id_in_sync_group


def share(draw, shape):
    """``draw(shape)``, random numbers for this replica's share of a batch of ``shape[0]`` per replica.

    Under N replicas each replica draws for the whole global batch (N x shape[0] rows)
    from the shared seed and keeps its own rows: the replicas' numbers differ from each
    other, and together they are those one device draws for the global batch (the
    replicas' shares are consecutive rows of it, see ``ganlab.training.stream.real_stream``).
    """
    replicas, index = replica()
    if replicas == 1:
        return draw(shape)
    n = shape[0]
    rows = draw(tf.concat([[n * replicas], shape[1:]], axis=0))
    return rows[index * n : (index + 1) * n]


def scale(loss):
    """``loss`` divided by the number of replicas.

    Each replica's loss is a mean over its share of the batch and the replicas'
    gradients are summed, so N replicas with a global batch B take the same step as one
    device with B.
    """
    return loss / tf.cast(replica()[0], loss.dtype)


def apply_gradients(optimizer, gradients, variables):
    """Apply one replica's ``gradients``; Keras sums them across replicas first.

    Keras clips each replica's gradients before that sum, so a global-norm clip
    (``training.optimizer.clip_norm``) would act on 1/N of the gradient. With a clip and
    several replicas the sum is made here instead, clipped as one device clips it, and
    each replica hands Keras 1/N of the result: within the clip norm, so Keras leaves it
    alone, and adding up to the clipped gradient.
    """
    replicas = replica()[0]
    if replicas > 1 and optimizer.global_clipnorm:
        total = tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, gradients)
        gradients = [g / replicas for g in tf.clip_by_global_norm(total, optimizer.global_clipnorm)[0]]
    optimizer.apply_gradients(zip(gradients, variables))


def logs_reduced_over_axis_0():
    """Whether ``fit`` reduces a step's logs with ``strategy.reduce(MEAN, value, axis=0)``.

    Keras does so under a multi-worker strategy (the same test as Keras's own), which fails
    for scalars (tensorflow/tensorflow#72388): there the step returns one-element vectors,
    and the mean over all replicas of all workers comes back as a scalar.
    """
    strategy = tf.distribute.get_strategy()
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()

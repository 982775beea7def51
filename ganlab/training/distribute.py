"""Where a run trains: the recipe's ``distribute`` section turned into a ``tf.distribute`` strategy.

ganlab does not distribute anything itself. It picks one of TensorFlow's strategies,
builds the models and optimizers in its scope (``ganlab.training.assemble.build_model``),
and Keras's ``fit`` splits each global batch across the replicas and sums their gradients.
What ganlab adds is what a GAN needs on top (see ``ganlab.training.replicas``, used by the
engine's train step, and docs/distributed.md):
losses divided by the number of replicas, z and instance noise drawn for the global
batch, the real batch laid out so each of the k D steps sees the same images on N
replicas as on one device, gradient clipping of the summed gradient, synchronised
batch norm, and for multi_worker the chief's state shared at start.

A strategy must exist before TensorFlow runs its first operation (logical CPU devices
and the multi-worker collectives are configured at start-up), so ``place`` is the first
thing a run does after validating its input; ``check`` reads TF_CONFIG first, in plain
Python (``ganlab.training.cluster``), so a bad TF_CONFIG is reported before TensorFlow's
own, longer complaint.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import gc
import os
import re
import shutil
import tempfile
import traceback

from ganlab.errors import GanlabError
from ganlab.training.cluster import DOCS, Task, cluster


class ClusterLost(GanlabError):
    """A multi-worker run stopped because another worker went away: restart the workers."""

    exit_code = 1


@dataclasses.dataclass
class Placement:
    """A strategy and what the run needs to know about it."""

    strategy: object
    name: str
    task: Task | None = None  # multi_worker only

    @property
    def is_chief(self) -> bool:
        return self.task is None or self.task.is_chief

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def distributed(self) -> bool:
        return self.name != "none"


def check(settings) -> Task | None:
    """The checks that need no TensorFlow: TF_CONFIG for multi_worker. Returns the task, if any."""
    return cluster() if settings["strategy"] == "multi_worker" else None


def place(settings) -> Placement:
    """The strategy the recipe's ``distribute`` section asks for.

    Call before anything else touches TensorFlow's runtime: the logical CPU devices of
    ``devices`` and the collectives of ``multi_worker`` can only be set up at start-up.
    """
    task = check(settings)
    return Placement(_strategy(settings["strategy"], settings["devices"], settings["tpu"]), settings["strategy"], task)


@functools.cache
def _strategy(name, devices, tpu):
    """One strategy per process and setting: a second MirroredStrategy in a process reuses
    the first one's collective keys, and its collectives then fail with shape mismatches."""
    import tensorflow as tf

    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(_local_devices(devices))
    if name == "multi_worker":
        auto = tf.distribute.experimental.CommunicationImplementation.AUTO
        options = tf.distribute.experimental.CommunicationOptions(implementation=auto)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return _tpu_strategy(tpu)


def _local_devices(count):
    """Device names for MirroredStrategy: ``count`` GPUs, or the CPU split into ``count`` logical devices."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        if count is not None and count > len(gpus):
            raise GanlabError(
                f"distribute.devices: {count} asked, this machine has {len(gpus)} GPU(s); lower it or use null for all"
            )
        return [f"/gpu:{i}" for i in range(count or len(gpus))]
    count = count or 1
    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or [None]) != count:
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
        except RuntimeError:
            raise GanlabError(
                f"distribute.devices: cannot split the CPU into {count} logical devices: "
                "TensorFlow already started in this process; "
                "create the run's strategy before any other TensorFlow work"
            ) from None
    return [f"/cpu:{i}" for i in range(count)]


def _tpu_strategy(tpu):
    import tensorflow as tf

    tpu = tpu or os.environ.get("TPU_NAME") or "local"
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except Exception as exc:  # noqa: BLE001 (a name lookup, the GCE metadata server, gRPC and TF each fail in their own way)
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0]
        raise GanlabError(
            f"distribute.tpu: cannot reach TPU '{tpu}' ({reason}); check the TPU name, zone and project, "
            f"or run on the TPU VM with distribute.tpu: local; {DOCS}"
        ) from None


def execution(placement, jit_compile, steps_per_execution):
    """The (jit_compile, steps_per_execution) that Keras can run under the placement's strategy.

    Under tf.distribute, Keras 3 wraps ``strategy.run`` in the XLA-compiled function, which
    fails when variables live on several devices, and its steps_per_execution loop fails
    with replicas (keras-team/keras#19246). So distributed runs use neither: the replicas'
    own work still runs in a graph. A note says so when the recipe asked for them.
    """
    if not placement.distributed or not (jit_compile or steps_per_execution > 1):
        return jit_compile, steps_per_execution
    print(
        f"ganlab: distribute.strategy {placement.name}: training without XLA, one step per execution "
        "(see docs/distributed.md)",
        flush=True,
    )
    return False, 1


def check_batch(placement, batch_size):
    """The global batch must split evenly, or the replicas' means would not add up to the global mean."""
    if batch_size % placement.replicas:
        raise GanlabError(
            f"training.batch_size: {batch_size} does not split evenly across the {placement.replicas} replicas of "
            f"distribute.strategy {placement.name}; use a multiple of {placement.replicas}"
        )


def synchronize_batch_norm(*models):
    """Make every BatchNormalization layer in ``models`` normalise with global-batch statistics.

    Keras reads ``synchronized`` when the layer runs, so plugins need not know about it.
    """
    from ganlab.training.layers import batch_norms

    for model in models:
        for layer in batch_norms(model):
            layer.synchronized = True


@contextlib.contextmanager
def workspace(placement, run_dir):
    """The folder this process writes: the run directory for the chief, else a temporary one.

    Every worker runs the same callbacks (they must stop and save at the same steps), but
    only the chief's files are kept; the others' go to a folder removed at the end, the
    Keras multi-worker pattern.
    """
    if placement.is_chief:
        yield run_dir
        return
    scratch = tempfile.mkdtemp(prefix=f"ganlab-{placement.task.type}{placement.task.index}-")
    task = placement.task
    print(
        f"ganlab: {task} ({task.workers} tasks): the chief writes {run_dir}; "
        f"this worker writes {scratch}, removed at the end",
        flush=True,
    )
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextlib.contextmanager
def lost_workers(placement, run_dir):
    """Under multi_worker, a peer that went away becomes one line (ClusterLost) instead of a traceback."""
    import tensorflow as tf

    errors = tf.errors
    lost = (errors.UnavailableError, errors.AbortedError, errors.CancelledError, errors.DeadlineExceededError)
    try:
        yield
    except lost as exc:
        if placement.task is None:
            raise
        message = re.sub(r"\{\{.*?\}\}\s*", "", exc.message)  # without TF's {{function_node ...}}
        reason = (message.strip().splitlines() or [type(exc).__name__])[0]
        _release_frames(exc)
        raise ClusterLost(
            f"{placement.task}: lost contact with the cluster ({reason}); restart every worker with the same command "
            f"to continue from the last checkpoint in {run_dir}"
        ) from None


def _release_frames(exc):
    """Free what the finished frames of ``exc``'s traceback still hold, now.

    TensorFlow's eager all-reduce maps over a ``multiprocessing`` ThreadPool and closes it
    only when the map returns; a collective cut off by a lost peer leaves the pool open in
    its frame. Left to interpreter shutdown, the pool's ``__del__`` writes to a pipe already
    closed and prints a traceback after ganlab's one line; collected here, it closes cleanly.
    """
    traceback.clear_frames(exc.__traceback__)
    gc.collect()


def from_chief(placement, variables, counters):
    """Give every worker the chief's ``variables`` and ``counters``; returns the chief's counters.

    Only the chief reads a checkpoint: a restarted worker may not see the chief's disk, and
    must start from exactly the chief's state. A collective, so every worker calls it.
    Global replica 0 is the chief's first: each replica contributes its values if it is
    replica 0 and zeros otherwise, and the sums are the chief's values, exactly.
    """
    import tensorflow as tf

    strategy = placement.strategy
    counters = tf.constant(counters, tf.int64)

    @tf.function
    def share():
        def chief_values():
            context = tf.distribute.get_replica_context()
            first = tf.equal(context.replica_id_in_sync_group, 0)
            mine = [tf.where(first, value, tf.zeros_like(value)) for value in [*variables, counters]]
            return [context.all_reduce(tf.distribute.ReduceOp.SUM, value) for value in mine]  # one each: dtypes differ

        return strategy.experimental_local_results(strategy.run(chief_values))[0]

    *values, shared_counters = share()
    for variable, value in zip(variables, values):
        variable.assign(value)
    return tuple(int(c) for c in shared_counters.numpy())

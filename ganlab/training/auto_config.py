"""``training.precision: auto`` and ``training.jit_compile: auto``: the fastest known train step
for this machine and this kind of model.

``decide`` is the decision table, a pure function of a machine description
(``ganlab.training.machine.describe``), the model's kind (``conv`` if G or D has a
convolution, else ``dense``) and the distribute strategy; docs/performance.md shows the table
and the measurements behind each row. ``resolve`` applies it to a recipe: only keys that say
``auto`` are decided, explicit values always win, and the result is a recipe with explicit
values, which is what a run directory stores, so that a resumed run keeps the precision it
started with on any machine.
"""

from __future__ import annotations

import dataclasses

AUTO = "auto"

#: What ``auto`` means where nothing resolved it (a model built directly, as tests and tools do):
#: float32 under XLA, the same on every machine.
UNRESOLVED = {"precision": "float32", "jit_compile": True}

#: Steps per execution on a CPU: enough of them keep the Python round trips between steps out
#: of the way, more so without XLA (docs/performance.md); under XLA the gain is smaller, so
#: there an epoch is never cut for them.
CPU_STEPS_PER_EXECUTION = 10

#: CUDA compute capability from which GPUs compute in bfloat16 (Ampere).
BF16_GPU_CAPABILITY = (8, 0)


@dataclasses.dataclass(frozen=True)
class Choice:
    """A decided configuration.

    ``steps_per_execution`` is a minimum (None: keep the recipe's), raised to a divisor of an
    epoch's steps from it to twice it where one exists; else to the minimum itself if
    ``cut_epochs`` (an epoch then runs as whole executions only), or not at all.
    """

    precision: str
    jit_compile: bool
    steps_per_execution: int | None
    reason: str
    cut_epochs: bool = True


def settled(training, key):
    """``training[key]``, with ``auto`` read as ``UNRESOLVED`` says (for models built without ``resolve``)."""
    value = training[key]
    return UNRESOLVED[key] if value == AUTO else value


def decide(machine, kind, strategy="none", precision=AUTO) -> Choice:
    """The configuration for a ``kind`` ("conv" or "dense") model on ``machine`` under ``strategy``.

    An explicit ``precision`` is kept and only the rest is chosen for it.
    """
    from ganlab.training.machine import bf16_fast_cpu

    if strategy == "multi_worker":  # every worker must decide alike, whatever its own hardware
        return Choice(_or(precision, "float32"), False, None, "distribute.strategy multi_worker: alike on every worker")
    if strategy == "tpu":
        return Choice(_or(precision, "mixed_bfloat16"), False, None, "distribute.strategy tpu")
    distributed = strategy != "none"  # distribute.execution: no XLA, one step per execution
    if machine["gpus"]:
        gpu = machine["gpus"][0]
        capability = tuple(gpu["compute_capability"] or (0, 0))
        if capability >= BF16_GPU_CAPABILITY:
            chosen, why = "mixed_bfloat16", f"GPU {gpu['name']} with bfloat16"
        else:
            chosen, why = "mixed_float16", f"GPU {gpu['name']} without bfloat16: float16 with loss scaling"
        return Choice(_or(precision, chosen), not distributed, None, why)
    fast_bf16 = bf16_fast_cpu(machine)
    if fast_bf16 and kind == "conv":
        chosen, why = "mixed_bfloat16", "AMX CPU, conv model"
    elif fast_bf16:
        chosen, why = "float32", "AMX CPU, dense-only model: float32 under XLA is faster today"
    else:
        chosen, why = "float32", f"CPU without AMX, {kind} model"
    precision = _or(precision, chosen)
    # oneDNN's kernels beat XLA's for bfloat16 products on AMX and for convolutions in float32.
    onednn = (precision == "mixed_bfloat16" and fast_bf16) or (precision == "float32" and kind == "conv")
    if distributed:
        return Choice(precision, False, None, why)
    if onednn:
        return Choice(precision, False, CPU_STEPS_PER_EXECUTION, why)
    return Choice(precision, True, CPU_STEPS_PER_EXECUTION, why, cut_epochs=False)


def _dividing(minimum, steps_per_epoch):
    """The smallest divisor of ``steps_per_epoch`` from ``minimum`` to twice it, else None."""
    for steps in range(minimum, 2 * minimum + 1):
        if steps_per_epoch and steps_per_epoch % steps == 0:
            return steps
    return None


def _or(value, chosen):
    return chosen if value == AUTO else value


def model_kind(recipe, image_shape, classes=None) -> str:
    """``conv`` if G or D has a convolution layer, else ``dense``: from a symbolic build (no memory, no weights)."""
    from ganlab.resources import count_weights
    from ganlab.training.layers import leaf_layers

    t, comps = recipe["training"], recipe.components
    context = {"image_shape": image_shape} if classes is None else {"image_shape": image_shape, "num_classes": classes}
    names = []

    def noting(builder):
        def build(**kwargs):
            model = builder(**kwargs)
            names.extend(type(layer).__name__ for layer in leaf_layers(model))
            return model

        return build

    count_weights(
        noting(comps["generator"].builder),
        {"latent_dim": t["latent_dim"], **context, **recipe.component_params("generator")},
    )
    count_weights(noting(comps["discriminator"].builder), {**context, **recipe.component_params("discriminator")})
    return "conv" if any(name.startswith("Conv") for name in names) else "dense"


def resolve(recipe, image_shape, classes=None, machine=None, num_images=None):
    """(the recipe with its ``auto`` keys decided, a one-line note of the choice and why, or None).

    ``machine`` defaults to this one (``machine.describe``). When ``jit_compile`` is ``auto``,
    ``training.steps_per_execution`` is raised as the choice says: to a divisor of the epoch's
    steps within twice the minimum where one exists, because an epoch is cut to whole
    executions (78 steps run as 6 x 13, not as 7 x 10 = 70). ``num_images``, the dataset's
    size, gives the epoch's steps as the run counts them (``stream.epoch_steps``: after the
    D-validation hold-out, at most ``training.steps``); without it no divisor is looked for.
    """
    from ganlab.training.stream import epoch_steps

    t = recipe["training"]
    if AUTO not in (t["precision"], t["jit_compile"]):
        return recipe, None
    if machine is None:
        from ganlab.training.machine import describe

        machine = describe()
    choice = decide(machine, model_kind(recipe, image_shape, classes), recipe["distribute"]["strategy"], t["precision"])
    training, parts = dict(t), []
    if t["precision"] == AUTO:
        training["precision"] = choice.precision
        parts.append(f"precision auto -> {choice.precision}")
    if t["jit_compile"] == AUTO:
        training["jit_compile"] = choice.jit_compile
        parts.append(f"jit_compile auto -> {str(choice.jit_compile).lower()}")
        if choice.steps_per_execution and t["steps_per_execution"] < choice.steps_per_execution:
            dataset = f"dataset '{recipe['data']['name']}'"
            per_epoch = epoch_steps(t, num_images, dataset) if num_images else None
            raised = _dividing(choice.steps_per_execution, per_epoch)
            if raised is None and choice.cut_epochs:
                raised = choice.steps_per_execution
            if raised is not None:
                training["steps_per_execution"] = raised
                parts.append(f"steps_per_execution {t['steps_per_execution']} -> {raised}")
    note = f"{', '.join(parts)} ({choice.reason})"
    return dataclasses.replace(recipe, data={**recipe.data, "training": training}), note

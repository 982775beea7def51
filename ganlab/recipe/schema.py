"""The schema of every ganlab-owned recipe key: where a new option starts.

The component sections (``data``, ``generator``, ``discriminator``, ``loss``) name a
registered component; their parameters come from the builder's signature (see
``ganlab.components.params``). ``training``, ``output`` and ``distribute`` are ganlab's
own and are described here, one ``Setting`` per key: its type (with its range), default and
help text, which validation, ``ganlab check`` and docs/recipes.md all read.
"""

from __future__ import annotations

import dataclasses
import importlib.util
from typing import Annotated, Any, Callable, Literal

from ganlab.components.kinds import KINDS
from ganlab.components.params import Above, AtLeast, Range, type_name
from ganlab.evaluation import extractors
from ganlab.training.options import diffaugment_policy

#: The component kinds in the order their sections come in a recipe: data, generator, discriminator, loss.
COMPONENT_KINDS = tuple(sorted(KINDS.values(), key=lambda kind: kind.section_order))


@dataclasses.dataclass(frozen=True)
class Setting:
    """One of ganlab's own recipe keys: its type, default, description and any check beyond its type.

    Ranges are part of the type, ``Annotated[int, Range(1, MAX_EPOCHS)]`` (see
    :mod:`ganlab.components.params`), so ``check_value`` enforces them, every float is refused
    when it is not finite, and the type column of ``describe_settings`` shows them.
    ``check`` is for the rest: it returns what is wrong, or None.
    """

    annotation: Any
    default: Any
    help: str
    check: Callable[[Any], str | None] | None = None


#: Upper bounds far beyond any real run: they turn a typo (10**15 epochs) into an error
#: instead of a run that never ends or an allocation that cannot succeed.
MAX_EPOCHS = 1_000_000
MAX_STEPS = 1_000_000_000
MAX_BATCH = 65_536
MAX_LATENT_DIM = 65_536
MAX_GRID = 64
MAX_D_STEPS = 1_000
MAX_STEPS_PER_EXECUTION = 10_000
MAX_DEVICES = 4_096
#: NumPy's and keras.utils.set_random_seed's range: 0 <= seed < 2**32.
MAX_SEED = 2**32 - 1

Count = Annotated[int, AtLeast(1)]
Positive = Annotated[float, Above(0)]
UnitInterval = Annotated[float, Range(0, 1, high_open=True)]


def _tensorboard_installed(v):
    # TensorFlow no longer brings TensorBoard; find it without importing anything.
    if v and importlib.util.find_spec("tensorboard") is None:
        return "needs the tensorboard package: pip install tensorboard (or pip install 'ganlab[tensorboard]')"
    return None


def _policy_problem(value):
    try:
        diffaugment_policy(value)
    except ValueError as exc:
        return str(exc)
    return None


def _augments(value) -> bool:
    """Whether ``training.diffaugment`` is on; a value refused already counts as on (it is reported)."""
    return _policy_problem(value) is not None or diffaugment_policy(value) is not None


#: ``output.keep_best``'s choices: the metric's key (``metric_table``) and whether higher is better.
KEEP_BEST = {"fid": ("fid", False), "kid": ("kid_mean", False), "score": ("classifier_score", True)}


OPTIMIZER = {
    "name": Setting(Literal["adam"], "adam", "optimizer (Adam, as in the classic GAN recipes)"),
    "learning_rate": Setting(Positive, 2e-4, "learning rate"),
    "beta_1": Setting(UnitInterval, 0.5, "Adam's first-moment decay"),
    "beta_2": Setting(UnitInterval, 0.999, "Adam's second-moment decay"),
    "lr_decay": Setting(
        Literal["none", "linear", "cosine"],
        "none",
        "learning-rate schedule: constant, or linear/cosine decay to 0 by the last step",
    ),
    "decay_start": Setting(UnitInterval, 0.0, "fraction of training after which the decay begins"),
    "clip_norm": Setting(Positive | None, None, "rescale each update's gradients to at most this global L2 norm"),
}


SETTINGS: dict[str, dict[str, Any]] = {
    "training": {
        "epochs": Setting(
            Annotated[int, Range(1, MAX_EPOCHS)] | None,
            None,
            "passes over the data set (one of epochs/steps is required)",
        ),
        "steps": Setting(Annotated[int, Range(1, MAX_STEPS)] | None, None, "G steps to train instead of epochs"),
        "batch_size": Setting(
            Annotated[int, Range(1, MAX_BATCH)], 128, "images per batch, for D and for the AM step"
        ),
        "d_steps": Setting(
            Annotated[int, Range(1, MAX_D_STEPS)], 1, "k: D updates per G (AM) update, each on a fresh real batch"
        ),
        "d_batch": Setting(
            Literal["separate", "concat"],
            "separate",
            "D update on two batches (real, then fake: one forward pass each) or one concatenated batch",
        ),
        "latent_dim": Setting(Annotated[int, Range(1, MAX_LATENT_DIM)], 100, "size of the latent vector z"),
        "noise": Setting(Literal["normal", "uniform"], "normal", "distribution of z: N(0, 1) or U(-1, 1)"),
        "seed": Setting(
            Annotated[int, Range(0, MAX_SEED)], 0, "seed for weights, noise and data order: same seed, same run"
        ),
        "optimizer": OPTIMIZER,
        "g_optimizer": "overrides",
        "d_optimizer": "overrides",
        "d_validation": Setting(
            Annotated[float, Range(0, 0.5)],
            0.0,
            "fraction of real images held out of training; "
            "D's accuracy on them is logged each epoch (D overfitting)",
        ),
        "instance_noise": Setting(
            Annotated[float, AtLeast(0)],
            0.0,
            "std of Gaussian noise added to every image D sees (G's output units), "
            "annealed linearly to 0 by the last step",
        ),
        "diffaugment": Setting(
            str | list[str] | None,
            None,
            "DiffAugment policy: differentiable augmentations of every image D sees, reals and fakes, "
            "e.g. 'color,translation,cutout' (null: off; see docs/recipes.md)",
            _policy_problem,
        ),
        "ada_target": Setting(
            Annotated[float, Range(0, 1, low_open=True, high_open=True)] | None,
            None,
            "ADA: apply training.diffaugment's ops with a probability p adapted so that the mean sign of "
            "D's outputs on reals stays near this target, e.g. 0.6 (null: ops always on)",
        ),
        "ada_kimg": Setting(
            Annotated[int, Range(1, MAX_STEPS)],
            500,
            "ADA: thousands of real images over which p can move from 0 to 1",
        ),
        "info_modes": Setting(
            Annotated[int, AtLeast(0)],
            0,
            "InfoGAN: z's first n entries choose one of n modes and D learns to tell each fake's mode, with G "
            "(0: off; see docs/recipes.md)",
            lambda v: None if v == 0 or v >= 2 else "must be 0 (off) or at least 2",
        ),
        "info_weight": Setting(Positive, 1.0, "weight of the InfoGAN mode term in both players' losses"),
        "ema": Setting(
            Annotated[float, Range(0, 1, low_open=True, high_open=True)] | None,
            None,
            "decay of an exponential moving average of G's weights, used for samples when set (e.g. 0.999)",
        ),
        "precision": Setting(
            Literal["auto", "float32", "mixed_bfloat16", "mixed_float16"],
            "auto",
            "compute dtype of G and D; mixed_* compute in bfloat16/float16 and keep float32 weights "
            "(auto: the fastest for this machine and model, see docs/performance.md)",
        ),
        "jit_compile": Setting(
            bool | Literal["auto"],
            "auto",
            "compile the train step with XLA (auto: decided with training.precision, see docs/performance.md)",
        ),
        "steps_per_execution": Setting(
            Annotated[int, Range(1, MAX_STEPS_PER_EXECUTION)], 1, "train steps per call into the compiled graph"
        ),
        "early_stop": Setting(
            Annotated[int, Range(1, MAX_EPOCHS)] | None,
            None,
            "stop when output.keep_best's metric has not improved for this many quality checks in a row "
            "(null: train to the end; may be raised on resume)",
        ),
    },
    "output": {
        "dir": Setting(str, "runs", "parent folder of run directories (ganlab run --out overrides)"),
        "sample_every": Setting(Count, 1, "epochs between sample grids of the fixed z"),
        "checkpoint_every": Setting(Count, 1, "epochs between checkpoints (one is always written at the end)"),
        "grid": Setting(Annotated[int, Range(1, MAX_GRID)], 8, "sample grids are grid x grid images"),
        "eval_every": Setting(
            Annotated[int, AtLeast(0)],
            0,
            "epochs between quick quality checks logged to metrics.csv and drawn in quality.png "
            "(0: off; see docs/metrics.md)",
        ),
        "extractor": Setting(
            Literal[(extractors.AUTO, *extractors.NAMES)],
            extractors.AUTO,
            "what the quality checks measure with (auto: classifier for labelled data, else ssl; see docs/metrics.md)",
        ),
        "keep_best": Setting(
            Literal[tuple(KEEP_BEST)] | None,
            None,
            "keep the generator of the best quality check as generator_best.keras: lowest fid or kid, or highest "
            "(classifier) score; needs eval_every",
        ),
        "tensorboard": Setting(
            bool,
            False,
            "also log each epoch's metrics and sample grid to RUN_DIR/tensorboard",
            _tensorboard_installed,
        ),
    },
    "distribute": {
        "strategy": Setting(
            Literal["none", "mirrored", "multi_worker", "tpu"],
            "none",
            "where one run trains: one device, several devices of this machine, "
            "several machines (TF_CONFIG), a Cloud TPU",
        ),
        "devices": Setting(
            Annotated[int, Range(1, MAX_DEVICES)] | None,
            None,
            "mirrored only: local devices to use "
            "(null: every GPU; on a machine without GPUs, N splits the CPU into N logical devices)",
        ),
        "sync_batch_norm": Setting(
            bool,
            True,
            "batch-norm layers normalise with the statistics of the global batch, not of each replica's share",
        ),
        "tpu": Setting(
            str | None,
            None,
            "tpu only: the TPU's name or grpc:// address (null: $TPU_NAME, else 'local', the TPU VM's own)",
        ),
    },
}


def needs_problems(resolved) -> list[tuple[str, str]]:
    """(key path, message) for each key set without the key it needs, in a validated recipe's sections.

    A key whose own value was refused is missing from ``resolved`` and reported already.
    """
    training, out = resolved.get("training") or {}, resolved.get("output") or {}
    problems = []
    if out.get("keep_best") is not None and out.get("eval_every") == 0:
        problems.append(
            ("output.keep_best", "needs output.eval_every > 0 (the quality checks it chooses the best at)")
        )
    if out.get("keep_best") == "score" and out.get("extractor") == "ssl":
        message = "score needs class probabilities, which the ssl extractor has not: keep fid or kid"
        problems.append(("output.keep_best", message))
    if training.get("early_stop") is not None and "keep_best" in out and out["keep_best"] is None:
        problems.append(("training.early_stop", "needs output.keep_best (fid, kid or score: the metric it watches)"))
    if training.get("ada_target") is not None and not _augments(training.get("diffaugment", "reported")):
        problems.append(
            ("training.ada_target", "needs training.diffaugment (the ops whose probability it adapts), "
             "e.g. 'color,translation,cutout'")
        )
    return problems


#: ``distribute`` keys that only mean something with one strategy.
STRATEGY_ONLY = {"devices": "mirrored", "tpu": "tpu"}


#: Written by ``ganlab run`` into a run's recipe.yaml (versions, plugins); informational only.
PROVENANCE = "provenance"


SECTIONS = [*(kind.section for kind in COMPONENT_KINDS), *SETTINGS, PROVENANCE]


REQUIRED_SECTIONS = [*(kind.section for kind in COMPONENT_KINDS), "training"]


def optimizer_settings(recipe, player) -> dict:
    """The optimizer settings for ``player`` ('g' or 'd'): shared ones, then overrides."""
    training = recipe["training"]
    return {**training["optimizer"], **training[f"{player}_optimizer"]}


def describe_settings():
    """(key path, type, default, help) for every ganlab-owned key: for docs and tests."""
    rows = []

    def walk(spec, prefix):
        for key, setting in spec.items():
            path = f"{prefix}.{key}"
            if setting == "overrides":
                rows.append((path, "mapping", "{}", "per-player overrides of training.optimizer keys"))
            elif isinstance(setting, dict):
                walk(setting, path)
            else:
                rows.append((path, type_name(setting.annotation), setting.default, setting.help))

    for section, spec in SETTINGS.items():
        walk(spec, section)
    return rows

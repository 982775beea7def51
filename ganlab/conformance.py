"""Contract checks for components: what ``ganlab check-plugin`` and ``ganlab.testing`` run.

A component honours its kind's contract when everything ``ganlab run``, ``--resume``
and ``ganlab sample`` do with it works. For every component of a plugin this checks:

- parameters: each default matches its annotation and survives ``recipe.yaml`` (dumped
  and read back unchanged), and required parameters have a value;
- builds: the builder accepts the parameters and returns the right type, with the given
  values and, for models and losses, with every other choice of each ``Literal`` and
  ``bool`` parameter;
- generator: output ``(batch, *image_shape)``, floating, finite and inside the model's
  ``output_range`` even for large z; gradients reach every trainable variable, also
  under XLA; ``.keras`` save/load, ``clone_model`` (EMA) and a checkpoint-style
  rebuild-and-copy give the same images;
- discriminator: one finite logit per image; gradients reach the input images (so G can
  learn through D) and every trainable variable, also under XLA; rebuild-and-copy gives
  the same logits;
- loss: ``d_loss`` and ``g_loss`` are finite scalars for ordinary, extreme and bfloat16
  logits; D's loss moves D and G's loss moves G through D, also under XLA; a rebuild
  from ``recipe.yaml`` gives the same values;
- dataset: uint8 images ``(n, height, width, 1 or 3)`` that come out of ganlab's input
  stream as float batches of that shape; a rebuild gives the same images in the same
  order (resume relies on it).

Selecting and validating what to check imports no TensorFlow; running the checks does.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import tempfile
import typing
from pathlib import Path

from ganlab.components import CONTEXT_ARGS, KINDS, Component, ImageData, ImageFiles, Loss, check_value
from ganlab.errors import GanlabError
from ganlab.plugins import builder_problem, one_line
from ganlab.recipe import SETTINGS, dump_yaml, load_value

#: Images the models are checked on unless told otherwise: MNIST's.
IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = SETTINGS["training"]["latent_dim"].default
BATCH = 4
#: Logits a loss must turn into finite values: ordinary ones and a confident D's.
EXTREME_LOGIT = 30.0
#: Relative difference allowed between outputs that should be the same.
TOLERANCE = 1e-5


class ContractFailure(Exception):
    """One check found the component in breach of its contract."""


class ContractBroken(GanlabError):
    """``ganlab check-plugin`` found failures: exit status 1, like a failed test run."""

    exit_code = 1


@dataclasses.dataclass
class Result:
    """The outcome of one check of one component (or of loading a plugin)."""

    kind: str
    name: str
    check: str
    ok: bool
    detail: str

    def line(self) -> str:
        return f"{'ok' if self.ok else 'FAIL':<4}  {self.kind} {self.name}: {self.check}: {self.detail}"


# --- what a builder returns: checked on every build, by ganlab run as much as here ---


def check_built(component: Component, built, kwargs: dict):
    """Return ``built`` if it is what a builder of ``component.kind`` must return.

    Otherwise raise a one-line :class:`GanlabError` naming the kind, the plugin and the
    component. ``kwargs`` are the builder's arguments (the context arguments included).
    """
    where = f"{component.kind} '{component.qualified_name}'"
    if component.kind == "dataset":
        _check_image_data(where, built)
    elif component.kind == "loss":
        if not isinstance(built, Loss):
            raise GanlabError(f"{where}: the builder must return a ganlab.Loss, it returned {_type_of(built)}")
    else:
        _check_model(where, component.kind, built, kwargs)
    return built


def _check_model(where, kind, model, kwargs):
    import keras
    import numpy as np

    if not isinstance(model, keras.Model):
        raise GanlabError(f"{where}: the builder must return a keras.Model, it returned {_type_of(model)}")
    image_shape = tuple(kwargs["image_shape"])
    if kind == "generator":
        given, expected = (2, kwargs["latent_dim"]), (2, *image_shape)
    else:
        given, expected = (2, *image_shape), (2, 1)
    try:
        out = model(np.zeros(given, np.float32), training=False)
    except Exception as exc:
        raise GanlabError(f"{where}: the model fails on a batch of shape {given}: {one_line(exc)}") from exc
    if tuple(out.shape) != expected:
        what = f"images of shape {tuple(out.shape[1:])} for image_shape {image_shape}" if kind == "generator" else f"shape {tuple(out.shape[1:])} per image"
        want = "" if kind == "generator" else ": it must output one logit per image, (batch, 1), without a sigmoid"
        raise GanlabError(f"{where}: the model makes {what}{want}")


def _check_image_data(where, data):
    import numpy as np

    if not isinstance(data, ImageData):
        raise GanlabError(f"{where}: the builder must return a ganlab.ImageData, it returned {_type_of(data)}")
    images = data.images
    if isinstance(images, (list, tuple)) or (isinstance(images, np.ndarray) and images.dtype == object):
        shapes = [np.shape(image) for image in images]
        odd = next((i for i, shape in enumerate(shapes) if shape != shapes[0]), None)
        if odd is not None:
            raise GanlabError(
                f"{where}: images have inconsistent shapes: image 0 is {shapes[0]}, image {odd} is {shapes[odd]}; "
                "every image must have the same (height, width, channels)"
            )
        raise GanlabError(f"{where}: images must be one numpy array (n, height, width, channels), found a {type(images).__name__} of {len(shapes)} images; np.stack them")
    if not isinstance(images, (np.ndarray, ImageFiles)):
        raise GanlabError(f"{where}: images must be a uint8 numpy array (n, height, width, channels) or a ganlab.ImageFiles, found {_type_of(images)}")
    if images.ndim != 4:
        hint = "; add a channel axis with images[..., None]" if images.ndim == 3 else ""
        raise GanlabError(f"{where}: images must have shape (n, height, width, channels), found {images.shape}{hint}")
    if images.dtype != np.uint8:
        raise GanlabError(f"{where}: images must be uint8 (0..255), found {images.dtype}")
    if len(images) == 0 or images.shape[-1] not in (1, 3):
        raise GanlabError(f"{where}: found images of shape {images.shape}; ganlab needs at least one image with 1 (grayscale) or 3 (RGB) channels")
    if data.labels is not None:
        labels = np.asarray(data.labels)
        if labels.shape != (len(images),) or labels.dtype.kind not in "iu":
            raise GanlabError(f"{where}: labels must be integers of shape ({len(images)},), one per image, found {labels.dtype} {labels.shape}")


def _type_of(value) -> str:
    return "None" if value is None else f"{type(value).__module__}.{type(value).__qualname__}".removeprefix("builtins.")


# --- choosing what to check ---


def select(registry, name: str) -> tuple[list[Component], list]:
    """The components and load failures of plugin ``name``, or of every plugin of distribution ``name``."""

    def norm(text):
        return re.sub(r"[-_.]+", "-", text or "").lower()

    plugins = {p.name for p in registry.plugins} | {f.plugin for f in registry.failures}
    chosen = {name} if name in plugins else {p.name for p in registry.plugins if norm(p.distribution) == norm(name)}
    chosen |= {f.plugin for f in registry.failures if f.plugin == name or norm(f.distribution) == norm(name)}
    if not chosen:
        raise GanlabError(f"no plugin or distribution '{name}' is installed (plugins: {', '.join(sorted(plugins)) or 'none'}; see ganlab list)")
    components = [c for kind in KINDS for c in registry.components[kind] if c.plugin in chosen]
    return components, [f for f in registry.failures if f.plugin in chosen]


def split_params(components, settings: dict) -> dict:
    """``{"KIND.NAME.PARAM": value}`` -> ``{component: {param: value}}``, each value type-checked."""
    by_key = {f"{c.kind}.{c.name}": c for c in components}
    out = {c.qualified_name: {} for c in components}
    for key, value in settings.items():
        prefix, _, param = key.rpartition(".")
        component = by_key.get(prefix)
        if component is None:
            known = ", ".join(by_key) or "none"
            raise GanlabError(f"{key}: expected KIND.NAME.PARAM naming a component of the plugin (its components: {known})")
        params = {p.name: p for p in component.params}
        if param not in params:
            hint = difflib.get_close_matches(param, params, n=1)
            suggestion = f" — did you mean '{hint[0]}'?" if hint else ""
            raise GanlabError(f"{key}: {component.kind} '{component.name}' has no parameter '{param}'{suggestion} (parameters: {', '.join(params) or 'none'})")
        try:
            out[component.qualified_name][param] = params[param].check(value)
        except TypeError as exc:
            raise GanlabError(f"{key}: {exc}") from None
    return out


def parse_settings(pairs) -> dict:
    """``["KIND.NAME.PARAM=VALUE", ...]`` (values are YAML, as with ``--set``) -> a mapping."""
    settings = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or key.count(".") < 2:
            raise GanlabError(f"--set {pair}: expected KIND.NAME.PARAM=VALUE, e.g. --set dataset.mnist.split=test")
        settings[key.strip()] = load_value(text)
    return settings


def check_plugin(registry, name: str, settings: dict | None = None, image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM):
    """``(results of loading, one checker per component)`` for plugin or distribution ``name``.

    Raises :class:`GanlabError` for bad input (unknown plugin, bad settings) before
    anything heavy is imported; the checkers import TensorFlow when run.
    """
    components, failures = select(registry, name)
    params = split_params(components, settings or {})
    loading = [Result("plugin", f.plugin, "loads", False, f.reason) for f in failures]
    if not components and not failures:
        loading.append(Result("plugin", name, "registers", False, "registers no components"))
    return loading, [ComponentCheck(c, params[c.qualified_name], image_shape, latent_dim) for c in components]


# --- the checks ---


class ComponentCheck:
    """Every contract check of one component, with the parameters to build it with."""

    def __init__(self, component: Component, params: dict, image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM):
        self.component = component
        self.where = f"{component.kind} '{component.qualified_name}'"
        self.given = dict(params)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.values: dict = {}
        self.built: list = []  # (label, object): the given build first, then the variants

    def run(self) -> list[Result]:
        """Run the checks in order; after a failed parameters or builds check, stop."""
        import keras

        keras.utils.set_random_seed(0)
        checks = [("parameters", self._parameters), ("builds", self._builds)]
        checks += [(name, getattr(self, f"_{self.component.kind}_{name.replace(' ', '_')}")) for name in KIND_CHECKS[self.component.kind]]
        results = []
        for name, check in checks:
            try:
                detail, ok = check(), True
            except ContractFailure as exc:
                detail, ok = str(exc), False
            except Exception as exc:  # a plugin bug the check ran into
                detail, ok = one_line(exc).removeprefix(f"{self.where}: "), False
            results.append(Result(self.component.kind, self.component.qualified_name, name, ok, detail))
            if not ok and name in ("parameters", "builds"):
                break
        return results

    def _build(self, values):
        context = {"latent_dim": self.latent_dim, "image_shape": self.image_shape}
        context = {k: v for k, v in context.items() if k in CONTEXT_ARGS[self.component.kind]}
        return self.component.build(**context, **values)

    def _parameters(self):
        problem = builder_problem(self.component.kind, self.component.builder)
        if problem:
            raise ContractFailure(problem)
        params = self.component.params
        for p in params:
            if p.required and p.name not in self.given:
                key = f"{self.component.kind}.{self.component.name}.{p.name}"
                raise ContractFailure(f"parameter '{p.name}' is required: give it a value ({key}=VALUE)")
            if not p.required:
                try:
                    check_value(p.annotation, p.default)
                except TypeError as exc:
                    raise ContractFailure(f"parameter '{p.name}': its default does not match its annotation {p.type_name}: {exc}") from None
        self.values = {}
        for p in params:
            try:
                self.values[p.name] = p.check(self.given[p.name]) if p.name in self.given else p.default
            except TypeError as exc:
                raise ContractFailure(f"parameter '{p.name}': {exc}") from None
        try:
            read_back = load_value(dump_yaml(self.values)) or {}
        except Exception as exc:
            raise ContractFailure(f"the parameters cannot be written to recipe.yaml: {one_line(exc)}") from None
        for p in params:
            try:
                same = p.check(read_back.get(p.name)) == self.values[p.name]
            except TypeError:
                same = False
            if not same:
                raise ContractFailure(f"parameter '{p.name}': {self.values[p.name]!r} reads back from recipe.yaml as {read_back.get(p.name)!r}")
        return ", ".join(f"{p.name}: {p.type_name}" for p in params) + " (all survive recipe.yaml)" if params else "none"

    def _builds(self):
        variants = [("as given" if self.given else "defaults", self.values)]
        if self.component.kind != "dataset":  # a dataset's choices may name data that is not there
            variants += [(f"{name}={value!r}", {**self.values, name: value}) for name, value in self._alternatives()]
        self.built = []
        for label, values in variants:
            try:
                self.built.append((label, self._build(values)))
            except GanlabError as exc:
                raise ContractFailure(f"with {label}: {one_line(exc).removeprefix(self.where + ': ')}") from None
        return ", ".join(label for label, _ in self.built)

    def _alternatives(self):
        """(parameter, value) for every other choice of each Literal and bool parameter."""
        for p in self.component.params:
            if typing.get_origin(p.annotation) is typing.Literal:
                choices = typing.get_args(p.annotation)
            elif p.annotation is bool:
                choices = (False, True)
            else:
                continue
            yield from ((p.name, choice) for choice in choices if choice != self.values[p.name])

    # generator

    def _generator_output(self):
        import numpy as np

        rng = np.random.default_rng(0)
        zs = {
            "z ~ N(0, 1)": rng.standard_normal((BATCH, self.latent_dim)),
            "z ~ U(-1, 1)": rng.uniform(-1, 1, (BATCH, self.latent_dim)),
            "z ~ 10 N(0, 1)": 10 * rng.standard_normal((BATCH, self.latent_dim)),
        }
        for label, model in self.built:
            low, high = _output_range(model)
            for z_label, z in zs.items():
                for training in (False, True):
                    raw = model(z.astype(np.float32), training=training)
                    where = f"with {label}, {z_label}, training={training}"
                    if "float" not in _dtype_name(raw.dtype):
                        raise ContractFailure(f"{where}: images are {_dtype_name(raw.dtype)}, expected floating point")
                    out = _array(raw)
                    if out.shape != (BATCH, *self.image_shape):
                        raise ContractFailure(f"{where}: output shape {out.shape}, expected {(BATCH, *self.image_shape)}")
                    if not np.isfinite(out).all():
                        raise ContractFailure(f"{where}: the images hold NaN or infinite pixels")
                    if out.min() < low - TOLERANCE or out.max() > high + TOLERANCE:
                        raise ContractFailure(
                            f"{where}: pixels span [{out.min():.4g}, {out.max():.4g}], outside output_range [{low}, {high}]; "
                            "end with a bounded activation (tanh, sigmoid) or set model.output_range"
                        )
        return f"{(BATCH, *self.image_shape)} {_dtype_name(raw.dtype)} within output_range, for {len(zs)} z distributions and {len(self.built)} build(s)"

    def _generator_gradients(self):
        return _gradients(self._generator_forward, self.built[0][1], inputs=False)

    def _generator_forward(self, model):
        import numpy as np

        rng = np.random.default_rng(1)
        z = rng.standard_normal((BATCH, self.latent_dim)).astype(np.float32)
        weights = rng.standard_normal((BATCH, *self.image_shape)).astype(np.float32)
        return z, lambda x: _weighted_sum(model(x, training=True), weights)

    def _generator_round_trip(self):
        import keras
        import numpy as np

        model = self.built[0][1]
        z = np.random.default_rng(2).standard_normal((BATCH, self.latent_dim)).astype(np.float32)
        expected = _array(model(z, training=False))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "generator.keras"
            model.save(path)
            try:
                loaded = keras.models.load_model(path, compile=False)
            except Exception as exc:
                raise ContractFailure(
                    f"generator.keras does not load back ({one_line(exc)}); register custom layers with keras.saving.register_keras_serializable"
                ) from None
        _same(expected, loaded(z, training=False), "after saving to generator.keras and loading it (ganlab sample)")
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        _same(expected, clone(z, training=False), "for keras.models.clone_model with copied weights (training.ema)")
        _same(expected, self._rebuilt(model)(z, training=False), "after a rebuild with the checkpoint's variables copied in (--resume)")
        return "generator.keras, clone_model (EMA) and checkpoint restore give the same images"

    def _rebuilt(self, model):
        """A fresh build with ``model``'s variables copied in, in order: what --resume does."""
        fresh = self._build(self.values)
        if len(fresh.variables) != len(model.variables):
            raise ContractFailure(f"a second build has {len(fresh.variables)} variables, the first {len(model.variables)}: checkpoints cannot be restored")
        for target, source in zip(fresh.variables, model.variables):
            if tuple(target.shape) != tuple(source.shape):
                raise ContractFailure(f"a second build's variable {target.path} has shape {tuple(target.shape)}, the first build's {tuple(source.shape)}")
            target.assign(source)
        return fresh

    # discriminator

    def _discriminator_output(self):
        import numpy as np

        rng = np.random.default_rng(0)
        for label, model in self.built:
            for batch in (BATCH, 1):
                images = rng.uniform(-1, 1, (batch, *self.image_shape)).astype(np.float32)
                for training in (False, True):
                    out = _array(model(images, training=training))
                    where = f"with {label}, a batch of {batch}, training={training}"
                    if out.shape != (batch, 1):
                        raise ContractFailure(f"{where}: output shape {out.shape}, expected one logit per image, {(batch, 1)}")
                    if not np.isfinite(out).all():
                        raise ContractFailure(f"{where}: the logits hold NaN or infinite values")
        return f"one finite logit per image, (batch, 1), for batches of {BATCH} and 1 and {len(self.built)} build(s)"

    def _discriminator_gradients(self):
        return _gradients(self._discriminator_forward, self.built[0][1], inputs=True)

    def _discriminator_forward(self, model):
        import numpy as np

        rng = np.random.default_rng(1)
        images = rng.uniform(-1, 1, (BATCH, *self.image_shape)).astype(np.float32)
        weights = rng.standard_normal((BATCH, 1)).astype(np.float32)
        return images, lambda x: _weighted_sum(model(x, training=True), weights)

    def _discriminator_round_trip(self):
        import numpy as np

        model = self.built[0][1]
        images = np.random.default_rng(2).uniform(-1, 1, (BATCH, *self.image_shape)).astype(np.float32)
        _same(model(images, training=False), self._rebuilt(model)(images, training=False), "after a rebuild with the checkpoint's variables copied in (--resume)")
        return "checkpoint restore gives the same logits"

    # loss

    def _loss_values(self):
        import tensorflow as tf

        for label, loss in self.built:
            threshold = loss.threshold
            if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
                raise ContractFailure(f"with {label}: threshold must be a finite number (D's output above which an image counts as real), found {threshold!r}")
            for logits_label, real, fake in _logit_sets():
                for dtype in ("float32", "bfloat16"):
                    where = f"with {label}, {logits_label} {dtype} logits"
                    real_t, fake_t = tf.cast(real, dtype), tf.cast(fake, dtype)
                    _scalar(f"{where}: d_loss", loss.d_loss(real_t, fake_t))
                    _scalar(f"{where}: g_loss", loss.g_loss(fake_t))
        return f"finite scalars for ordinary, ±{EXTREME_LOGIT:g} and bfloat16 logits, for {len(self.built)} build(s); threshold {self.built[0][1].threshold!r}"

    def _loss_gradients(self):
        import tensorflow as tf

        for compiled in (False, True):
            loss = self.built[0][1]
            g, d, z, real = _tiny_players()

            def step(z, real):
                with tf.GradientTape(persistent=True) as tape:
                    fake_logits = d(g(z))
                    d_loss = loss.d_loss(d(real), fake_logits)
                    g_loss = loss.g_loss(fake_logits)
                return tape.gradient(d_loss, d.trainable_variables), tape.gradient(g_loss, g.trainable_variables)

            mode = "under XLA (training.jit_compile: true)" if compiled else "eagerly"
            try:
                d_grads, g_grads = (tf.function(step, jit_compile=True) if compiled else step)(z, real)
            except Exception as exc:
                raise ContractFailure(f"fails {mode}: {_short(exc)}") from None
            _moves(f"{mode}: d_loss", "D", d_grads)
            _moves(f"{mode}: g_loss", "G (through D)", g_grads)
        return "d_loss moves D and g_loss moves G through D, eagerly and under XLA"

    def _loss_round_trip(self):
        import numpy as np

        loss = self.built[0][1]
        again = self._build(load_value(dump_yaml(self.values)) or {})
        for label, real, fake in _logit_sets():
            before = (loss.d_loss(real, fake), loss.g_loss(fake))
            after = (again.d_loss(real, fake), again.g_loss(fake))
            for which, a, b in zip(("d_loss", "g_loss"), before, after):
                if not np.allclose(_array(a), _array(b), rtol=TOLERANCE, atol=TOLERANCE):
                    raise ContractFailure(f"rebuilt from recipe.yaml, {which} of {label} logits is {float(_array(b)):.6g}, was {float(_array(a)):.6g}")
        return "a rebuild from recipe.yaml gives the same values"

    # dataset

    def _dataset_images(self):
        import numpy as np

        from ganlab.data import real_stream

        data = self.built[0][1]
        batch = min(len(data), 16)
        first = np.asarray(next(iter(real_stream(data.images, batch, seed=0, output_range=(-1.0, 1.0)))))
        if first.shape != (batch, *data.image_shape) or first.dtype != np.float32 or first.min() < -1 or first.max() > 1:
            raise ContractFailure(f"ganlab's input stream makes {first.dtype} batches of shape {first.shape} from these images, expected float32 {(batch, *data.image_shape)} in [-1, 1]")
        labels = "no labels" if data.labels is None else f"labels {int(np.min(data.labels))}..{int(np.max(data.labels))}"
        return f"{len(data)} images {data.image_shape} uint8, {labels}; batches of {batch} stream as {first.shape} float32"

    def _dataset_round_trip(self):
        import numpy as np

        data = self.built[0][1]
        again = self._build(load_value(dump_yaml(self.values)) or {})
        # Images kept in files (array-like, decoded on demand) are compared at both ends only.
        n = len(data)
        some = slice(None) if isinstance(data.images, np.ndarray) else np.r_[0 : min(n, 16), max(n - 16, 0) : n]
        if tuple(again.images.shape) != tuple(data.images.shape) or not np.array_equal(again.images[some], data.images[some]):
            raise ContractFailure("a second build returns other images (or another order): --resume would train on different batches")
        if (data.labels is None) != (again.labels is None) or (data.labels is not None and not np.array_equal(again.labels, data.labels)):
            raise ContractFailure("a second build returns other labels")
        return "a rebuild from recipe.yaml gives the same images and labels in the same order"


#: The checks after "parameters" and "builds", by kind; each is ComponentCheck._<kind>_<check>.
KIND_CHECKS = {
    "generator": ("output", "gradients", "round trip"),
    "discriminator": ("output", "gradients", "round trip"),
    "loss": ("values", "gradients", "round trip"),
    "dataset": ("images", "round trip"),
}


def _output_range(model):
    found = getattr(model, "output_range", (-1.0, 1.0))
    try:
        low, high = (float(v) for v in found)
    except (TypeError, ValueError):
        raise ContractFailure(f"output_range must be a pair (low, high), found {found!r}") from None
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ContractFailure(f"output_range must be finite with low < high, found {found!r}")
    return low, high


def _weighted_sum(outputs, weights):
    """A scalar that depends on every output element, so every used variable gets a gradient."""
    import tensorflow as tf

    return tf.reduce_sum(tf.cast(outputs, tf.float32) * weights)


def _gradients(forward, model, inputs: bool):
    """Gradients of a weighted sum of ``model``'s outputs, eagerly and under XLA.

    Every trainable variable must get a finite gradient, some of them nonzero; with
    ``inputs`` the gradient must also reach the input (D's images: G learns through it).
    """
    import tensorflow as tf

    if not model.trainable_variables:
        raise ContractFailure("the model has no trainable variables")
    x, scalar = forward(model)

    def step(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = scalar(x)
        return tape.gradient(value, [x, *model.trainable_variables])

    for compiled in (False, True):
        mode = "under XLA (training.jit_compile: true)" if compiled else "eagerly"
        try:
            grads = (tf.function(step, jit_compile=True) if compiled else step)(tf.constant(x))
        except Exception as exc:
            raise ContractFailure(f"fails {mode}: {_short(exc)}") from None
        if inputs:
            _moves(mode, "the input images (G learns through them)", grads[:1])
        for variable, grad in zip(model.trainable_variables, grads[1:]):
            if grad is None:
                raise ContractFailure(f"{mode}: no gradient reaches trainable variable {variable.path}: it does not affect the output")
        _moves(mode, "the trainable variables", grads[1:])
    what = "the input images and " if inputs else ""
    return f"finite gradients reach {what}all {len(model.trainable_variables)} trainable variables, eagerly and under XLA"


def _moves(where, what, grads):
    import numpy as np

    arrays = [_array(g) for g in grads if g is not None]
    if not arrays:
        raise ContractFailure(f"{where}: no gradient reaches {what}")
    if not all(np.isfinite(a).all() for a in arrays):
        raise ContractFailure(f"{where}: the gradient for {what} holds NaN or infinite values")
    if not any(np.abs(a).max() > 0 for a in arrays):
        raise ContractFailure(f"{where}: the gradient for {what} is zero everywhere")


def _logit_sets():
    """(label, real logits, fake logits) a loss must handle, as float32 (batch, 1) arrays."""
    import numpy as np

    rng = np.random.default_rng(3)
    ordinary = rng.normal(0, 3, (2, 8, 1)).astype(np.float32)
    extreme = np.array([[EXTREME_LOGIT], [-EXTREME_LOGIT], [EXTREME_LOGIT], [-EXTREME_LOGIT]], np.float32)
    return [("ordinary", ordinary[0], ordinary[1]), ("extreme", extreme, extreme[::-1].copy())]


def _scalar(where, value):
    import numpy as np

    array = _array(value)
    if array.shape != ():
        raise ContractFailure(f"{where} has shape {array.shape}, expected a scalar (the mean over the batch)")
    dtype = _dtype_name(getattr(value, "dtype", array.dtype))
    if "float" not in dtype:
        raise ContractFailure(f"{where} is {dtype}, expected floating point")
    if not np.isfinite(array):
        raise ContractFailure(f"{where} is {float(array)}")


def _tiny_players():
    """A small dense G and D, and a batch of z and of real images, for loss gradients."""
    import keras
    import numpy as np

    z = keras.Input((8,))
    g = keras.Model(z, keras.layers.Dense(16, activation="tanh")(keras.layers.Dense(16, activation="relu")(z)))
    images = keras.Input((16,))
    d = keras.Model(images, keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(images)))
    rng = np.random.default_rng(4)
    return g, d, rng.standard_normal((BATCH, 8)).astype(np.float32), rng.uniform(-1, 1, (BATCH, 16)).astype(np.float32)


def _same(expected, found, when):
    import numpy as np

    expected, found = _array(expected), _array(found)
    scale = 1.0 + float(np.abs(expected).max()) if expected.size else 1.0
    difference = float(np.abs(expected - found).max()) if expected.shape == found.shape else math.inf
    if difference > TOLERANCE * scale:
        raise ContractFailure(f"outputs change {when} (largest difference {difference:.3g})")


def _array(value):
    """Any tensor (bfloat16 included) as a float32 numpy array."""
    import keras
    import numpy as np

    return np.asarray(keras.ops.convert_to_numpy(keras.ops.cast(value, "float32")))


def _dtype_name(dtype) -> str:
    return getattr(dtype, "name", None) or str(dtype)


def _short(exc, limit=300) -> str:
    text = one_line(exc)
    return text if len(text) <= limit else text[: limit - 1] + "…"

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
- discriminator: one finite logit per image, not a probability (outputs that never leave
  [0, 1], even for images pushed far along D's gradient, mean a final sigmoid);
  gradients reach the input images (so G can learn through D) and every trainable
  variable, also under XLA; rebuild-and-copy gives the same logits; a G step through D
  (D in training mode) leaves D's variables unchanged, also under XLA (batch-norm moving
  statistics and seed states may move);
- loss: ``d_loss`` and ``g_loss`` are finite scalars for ordinary, extreme and bfloat16
  logits; with a small G and a one-logit D on images ``(batch, *image_shape)``, the shapes
  of a run, D's loss and ``penalty`` (a finite scalar) move D and G's loss moves G through
  D, also under XLA; a rebuild from ``recipe.yaml`` gives the same values;
- dataset: uint8 images ``(n, height, width, 1 or 3)`` that come out of ganlab's input
  stream as float batches of that shape; a rebuild gives the same images in the same
  order (resume relies on it).

The parameter and build checks live here; the checks of each kind in
:mod:`ganlab.conformance.model_checks`, ``loss_checks`` and ``dataset_checks``, listed in order
by the kind's row in :data:`ganlab.components.kinds.KINDS`; what every build must return (also
when ``ganlab run`` builds) in :mod:`ganlab.components.contracts`. Selecting and validating what
to check imports no TensorFlow; running the checks does.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
import typing

from ganlab.components.component import Component
from ganlab.components.kinds import KINDS
from ganlab.components.loading import builder_problem
from ganlab.components.params import check_value
from ganlab.conformance.common import ContractFailure
from ganlab.errors import GanlabError, one_line
from ganlab.recipe.schema import SETTINGS
from ganlab.recipe.yaml_io import dump_yaml, load_value

#: Images the models are checked on unless told otherwise: MNIST's.
IMAGE_SHAPE = (28, 28, 1)
LATENT_DIM = SETTINGS["training"]["latent_dim"].default
#: Classes conditional models are built for (``num_classes``): MNIST's.
NUM_CLASSES = 10


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


# --- choosing what to check ---


def select(registry, name: str) -> tuple[list[Component], list]:
    """The components and load failures of plugin ``name``, or of every plugin of distribution ``name``."""

    def norm(text):
        return re.sub(r"[-_.]+", "-", text or "").lower()

    plugins = {p.name for p in registry.plugins} | {f.plugin for f in registry.failures}
    chosen = {name} if name in plugins else {p.name for p in registry.plugins if norm(p.distribution) == norm(name)}
    chosen |= {f.plugin for f in registry.failures if f.plugin == name or norm(f.distribution) == norm(name)}
    if not chosen:
        distributions = {p.distribution for p in registry.plugins if p.distribution}
        hint = difflib.get_close_matches(name, sorted(plugins) + sorted(distributions), n=1)
        suggestion = f" — did you mean '{hint[0]}'?" if hint else ""
        raise GanlabError(
            f"no plugin or distribution '{name}' is installed{suggestion} "
            f"(plugins: {', '.join(sorted(plugins)) or 'none'}; see ganlab list)"
        )
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
            raise GanlabError(
                f"{key}: expected KIND.NAME.PARAM naming a component of the plugin (its components: {known})"
            )
        params = {p.name: p for p in component.params}
        if param not in params:
            hint = difflib.get_close_matches(param, params, n=1)
            suggestion = f" — did you mean '{hint[0]}'?" if hint else ""
            raise GanlabError(
                f"{key}: {component.kind} '{component.name}' has no parameter '{param}'{suggestion} "
                f"(parameters: {', '.join(params) or 'none'})"
            )
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


class ComponentCheck:
    """Every contract check of one component, with the parameters to build it with."""

    def __init__(self, component: Component, params: dict, image_shape=IMAGE_SHAPE, latent_dim=LATENT_DIM):
        self.component = component
        self.where = f"{component.kind} '{component.qualified_name}'"
        self.given = dict(params)
        self.image_shape = tuple(image_shape)
        self.latent_dim = latent_dim
        self.num_classes = NUM_CLASSES  # given to conditional generators and discriminators
        self.values: dict = {}
        self.built: list = []  # (label, object): the given build first, then the variants

    def run(self) -> list[Result]:
        """Run the checks in order; after a failed parameters or builds check, stop."""
        import keras

        keras.utils.set_random_seed(0)
        checks = [("parameters", self._parameters), ("builds", self._builds)]
        kind = KINDS[self.component.kind]
        checks += [(name, lambda check=check: check(self)) for name, check in kind.named_checks()]
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

    def build(self, values):
        """Build the component with ``values`` and the context arguments its kind gets."""
        context = {"latent_dim": self.latent_dim, "image_shape": self.image_shape}
        context = {k: v for k, v in context.items() if k in KINDS[self.component.kind].context_args}
        if self.component.conditional:
            context["num_classes"] = self.num_classes
        return self.component.build(**context, **values)

    def feed(self, batch, labels=None):
        """What the model is called with for ``batch`` (z or images): ``[batch, labels]`` if conditional.

        ``labels`` default to the classes in turn, 0, 1, 2, ... (int32, one per row).
        """
        import keras
        import numpy as np

        if not self.component.conditional:
            return batch
        labels = np.arange(len(batch), dtype=np.int32) % self.num_classes if labels is None else labels
        # Keras refuses a mix of tensors and arrays as one call's inputs.
        return [batch, keras.ops.convert_to_tensor(labels) if keras.ops.is_tensor(batch) else labels]

    def _parameters(self):
        problem = builder_problem(self.component.kind, self.component.builder)
        if problem:
            raise ContractFailure(problem)
        params = self.component.params
        self.values = {}
        for p in params:
            if p.required and p.name not in self.given:
                key = f"{self.component.kind}.{self.component.name}.{p.name}"
                raise ContractFailure(f"parameter '{p.name}' is required: give it a value ({key}=VALUE)")
            try:
                if not p.required:
                    check_value(p.annotation, p.default)
            except TypeError as exc:
                raise ContractFailure(
                    f"parameter '{p.name}': its default does not match its annotation {p.type_name}: {exc}"
                ) from None
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
                raise ContractFailure(
                    f"parameter '{p.name}': {self.values[p.name]!r} reads back from recipe.yaml "
                    f"as {read_back.get(p.name)!r}"
                )
        if not params:
            return "none"
        return ", ".join(f"{p.name}: {p.type_name}" for p in params) + " (all survive recipe.yaml)"

    def _builds(self):
        variants = [("as given" if self.given else "defaults", self.values)]
        if self.component.kind != "dataset":  # a dataset's choices may name data that is not there
            variants += [(f"{name}={value!r}", {**self.values, name: value}) for name, value in self._alternatives()]
        self.built = []
        for label, values in variants:
            try:
                self.built.append((label, self.build(values)))
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

    def rebuilt(self, model):
        """A fresh build with ``model``'s variables copied in, in order: what --resume does."""
        fresh = self.build(self.values)
        if len(fresh.variables) != len(model.variables):
            raise ContractFailure(
                f"a second build has {len(fresh.variables)} variables, the first {len(model.variables)}: "
                "checkpoints cannot be restored"
            )
        for target, source in zip(fresh.variables, model.variables):
            if tuple(target.shape) != tuple(source.shape):
                raise ContractFailure(
                    f"a second build's variable {target.path} has shape {tuple(target.shape)}, "
                    f"the first build's {tuple(source.shape)}"
                )
            target.assign(source)
        return fresh

    def rebuild_from_recipe(self):
        """A fresh build from the parameters as ``recipe.yaml`` stores them: what --resume builds."""
        return self.build(load_value(dump_yaml(self.values)) or {})

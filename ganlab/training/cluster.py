"""A multi-worker run's cluster: this process's task, read from TF_CONFIG in plain Python.

``ganlab.training.distribute`` checks TF_CONFIG with ``cluster`` before it creates a
multi-worker strategy, so a bad TF_CONFIG is one line of ganlab's instead of
TensorFlow's own, longer complaint; nothing here imports TensorFlow.
"""

from __future__ import annotations

import dataclasses
import json
import os

from ganlab.errors import GanlabError

DOCS = "see docs/distributed.md"


@dataclasses.dataclass(frozen=True)
class Task:
    """This process's place in a multi-worker cluster, from TF_CONFIG."""

    type: str
    index: int
    workers: int  # chief and workers together
    has_chief: bool

    @property
    def is_chief(self) -> bool:
        """The chief writes the run directory: the task of type ``chief``, else worker 0."""
        return self.type == "chief" or (self.index == 0 and not self.has_chief)

    def __str__(self):
        return f"{self.type} {self.index}"


def cluster(environ=None) -> Task:
    """This worker's task from the TF_CONFIG environment variable, checked; GanlabError if unusable."""
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG")
    example = '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}'
    if not text:
        raise GanlabError(
            f"distribute.strategy multi_worker: set the TF_CONFIG environment variable on every worker, "
            f"e.g. {example}; {DOCS}"
        )
    try:
        config = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GanlabError(
            f"TF_CONFIG is not valid JSON ({exc.msg} at character {exc.pos}); expected e.g. {example}"
        ) from None
    spec = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(spec, dict) or not isinstance(task, dict):
        raise GanlabError(f"TF_CONFIG needs a 'cluster' mapping and a 'task' mapping, e.g. {example}")
    unsupported = sorted(set(spec) - {"chief", "worker"})
    if unsupported:
        raise GanlabError(
            f"TF_CONFIG cluster: task type {', '.join(map(repr, unsupported))} is not supported: "
            "multi_worker trains on 'chief' and 'worker' tasks only"
        )
    for kind, addresses in spec.items():
        if not isinstance(addresses, list) or not addresses or not all(_is_address(a) for a in addresses):
            raise GanlabError(
                f"TF_CONFIG cluster.{kind}: expected a non-empty list of 'host:port' addresses, found {addresses!r}"
            )
    if len(spec.get("chief", [])) > 1:
        raise GanlabError(f"TF_CONFIG cluster.chief: at most one chief, found {len(spec['chief'])}")
    kind, index = task.get("type"), task.get("index")
    if kind not in spec:
        raise GanlabError(
            f"TF_CONFIG task.type: expected one of {', '.join(map(repr, spec))} (the cluster's task types), "
            f"found {kind!r}"
        )
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(spec[kind]):
        raise GanlabError(
            f"TF_CONFIG task.index: expected an integer from 0 to {len(spec[kind]) - 1} "
            f"(cluster.{kind} has {len(spec[kind])}), found {index!r}"
        )
    return Task(kind, index, sum(map(len, spec.values())), has_chief="chief" in spec)


def _is_address(value) -> bool:
    host, sep, port = str(value).rpartition(":")
    return isinstance(value, str) and bool(sep and host and port.isdigit())

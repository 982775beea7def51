"""ganlab.training.cluster: this process's task from TF_CONFIG, and one line for each way it can be wrong."""

import pytest

from ganlab import GanlabError
from ganlab.training.cluster import cluster
from tests.helpers import tf_config


def test_tf_config_names_this_task_and_the_chief():
    workers = {"worker": ["a:1", "b:2", "c:3"]}
    assert cluster({"TF_CONFIG": tf_config(workers, index=0)}).is_chief  # no chief task: worker 0 is the chief
    task = cluster({"TF_CONFIG": tf_config(workers, index=2)})
    assert (task.type, task.index, task.workers, task.is_chief) == ("worker", 2, 3, False)
    with_chief = {"chief": ["c:1"], "worker": ["w:1"]}
    assert cluster({"TF_CONFIG": tf_config(with_chief, "chief")}).is_chief
    assert not cluster({"TF_CONFIG": tf_config(with_chief, "worker", 0)}).is_chief


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "distribute.strategy multi_worker: set the TF_CONFIG environment variable on every worker"),
        (
            "{cluster: 1}",
            "TF_CONFIG is not valid JSON (Expecting property name enclosed in double quotes at character 1)",
        ),
        ('{"cluster": {"worker": ["a:1"]}}', "TF_CONFIG needs a 'cluster' mapping and a 'task' mapping"),
        (tf_config({"worker": ["a:1"], "ps": ["p:1"]}), "TF_CONFIG cluster: task type 'ps' is not supported"),
        (
            tf_config({"worker": ["a"]}),
            "TF_CONFIG cluster.worker: expected a non-empty list of 'host:port' addresses, found ['a']",
        ),
        (
            tf_config({"worker": ["a:1", "b:1"]}, index=2),
            "TF_CONFIG task.index: expected an integer from 0 to 1 (cluster.worker has 2), found 2",
        ),
        (
            tf_config({"worker": ["a:1"]}, "evaluator"),
            "TF_CONFIG task.type: expected one of 'worker' (the cluster's task types), found 'evaluator'",
        ),
    ],
)
def test_bad_tf_config_is_one_line(value, message):
    with pytest.raises(GanlabError) as err:
        cluster({} if value is None else {"TF_CONFIG": value})
    assert len(err.value.lines) == 1 and err.value.lines[0].startswith(message)

"""The contract checks of datasets, in the order they run.

See :mod:`ganlab.conformance.common` for what a check is given and returns.
"""

from __future__ import annotations

from ganlab.conformance.common import ContractFailure


def dataset_images(c):
    import numpy as np

    from ganlab.training.stream import real_stream  # here: imports NumPy, which ganlab list does without

    data = c.built[0][1]
    batch = min(len(data), 16)
    first = np.asarray(next(iter(real_stream(data.images, batch, seed=0, output_range=(-1.0, 1.0)))))
    if first.shape != (batch, *data.image_shape) or first.dtype != np.float32 or first.min() < -1 or first.max() > 1:
        raise ContractFailure(
            f"ganlab's input stream makes {first.dtype} batches of shape {first.shape} from these images, "
            f"expected float32 {(batch, *data.image_shape)} in [-1, 1]"
        )
    labels = "no labels" if data.labels is None else f"labels {int(np.min(data.labels))}..{int(np.max(data.labels))}"
    return f"{len(data)} images {data.image_shape} uint8, {labels}; batches of {batch} stream as {first.shape} float32"


def dataset_round_trip(c):
    import numpy as np

    data = c.built[0][1]
    again = c.rebuild_from_recipe()
    # Images kept in files (array-like, decoded on demand) are compared at both ends only.
    n = len(data)
    some = slice(None) if isinstance(data.images, np.ndarray) else np.r_[0 : min(n, 16), max(n - 16, 0) : n]
    same_images = tuple(again.images.shape) == tuple(data.images.shape)
    if not same_images or not np.array_equal(again.images[some], data.images[some]):
        raise ContractFailure(
            "a second build returns other images (or another order): --resume would train on different batches"
        )
    if (data.labels is None) != (again.labels is None) or (
        data.labels is not None and not np.array_equal(again.labels, data.labels)
    ):
        raise ContractFailure("a second build returns other labels")
    return "a rebuild from recipe.yaml gives the same images and labels in the same order"

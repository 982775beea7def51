"""The interfaces a plugin's builders return: a ``Loss``, and images as ``ImageData`` (in
memory) or ``ImageFiles`` (decoded from their files as training streams them)."""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass
class ImageData:
    """What a dataset builder returns: the images, and their labels if it has any.

    ``images`` is a ``uint8`` array of shape ``(n, height, width, channels)`` with pixel
    values 0..255, or an :class:`ImageFiles` for a dataset too large to hold in memory;
    ``labels`` is an optional integer array of shape ``(n,)``.
    """

    images: Any
    labels: Any = None
    description: str = ""

    @property
    def image_shape(self) -> tuple:
        return tuple(int(d) for d in self.images.shape[1:])

    def __len__(self) -> int:
        return int(self.images.shape[0])


class ImageFiles:
    """Images that stay in their files until training needs them: ``ImageData.images`` for
    datasets too large to decode into memory at once.

    ``paths`` are the image files, in the dataset's order; ``image_shape`` is the
    ``(height, width, channels)`` every image decodes to; ``decode`` is a TensorFlow
    function from one path (a scalar string tensor) to a ``uint8`` tensor of
    ``image_shape``. ganlab's input stream (``ganlab.training.stream.real_stream``) maps ``decode``
    over each batch's files with ``tf.data`` as training goes, so only the batches in
    flight are in memory. ``decode`` must succeed for every path: find unreadable files
    when building the dataset, not in the middle of training.

    It looks like the uint8 array it stands for (``shape``, ``dtype``, ``len``), and
    indexing it (``files[indices]``) decodes just those images into a numpy array, for
    the places that need pixels outside training (``real.png``, ``ganlab eval``).
    """

    ndim = 4

    def __init__(self, paths, image_shape, decode):
        self.paths = [str(p) for p in paths]
        self.shape = (len(self.paths), *(int(d) for d in image_shape))
        self.decode = decode

    @property
    def dtype(self):
        import numpy as np

        return np.dtype(np.uint8)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index):
        import numpy as np
        import tensorflow as tf

        chosen = np.asarray(self.paths)[index]
        flat = np.atleast_1d(chosen)
        images = np.zeros((len(flat), *self.shape[1:]), np.uint8)
        if len(flat):
            decoded = tf.data.Dataset.from_tensor_slices(flat).map(self.decode, num_parallel_calls=tf.data.AUTOTUNE)
            images = decoded.batch(len(flat)).get_single_element().numpy()
        return images[0] if chosen.ndim == 0 else images

    def __array__(self, dtype=None, copy=None):
        """Every image decoded: as much memory as the dataset takes, which is why it is files."""
        images = self[:]
        return images if dtype is None else images.astype(dtype)

    def __repr__(self) -> str:
        return f"ImageFiles({len(self)} files, image_shape={self.shape[1:]})"


class Loss:
    """An adversarial loss, computed on the discriminator's raw outputs (logits).

    Subclasses implement ``d_loss`` and ``g_loss`` with TensorFlow/Keras ops and return
    scalar tensors (means over the batch). ``threshold`` is the D output above which an
    image counts as judged "real"; the engine uses it for D's accuracy.
    """

    threshold: float = 0.0

    #: Relativistic losses compare fakes with reals in G's loss too: when True, the AM
    #: step also runs D on a real batch and calls ``g_loss(fake_logits, real_logits)``.
    g_needs_real: bool = False

    #: A lazy penalty (computed every k D steps) needs D's update count: when True, the
    #: engine calls ``penalty(..., step=D's optimizer iterations)``.
    penalty_needs_step: bool = False

    def d_loss(self, real_logits, fake_logits):
        """D's loss on a batch of real outputs and a batch of fake outputs."""
        raise NotImplementedError

    def g_loss(self, fake_logits, real_logits=None):
        """G's loss (through the frozen D) on D's outputs for generated images.

        ``real_logits`` (D's outputs for a real batch) is passed only when ``g_needs_real``.
        """
        raise NotImplementedError

    def penalty(self, discriminator, real, fake, seed):
        """A term added to D's loss that needs D itself (a gradient penalty), or None.

        Called inside D's gradient tape with the real and generated images of the D step;
        ``seed`` is a ``keras.random.SeedGenerator`` for any randomness (the run's seed,
        saved in checkpoints, so that resumed runs stay exact). With ``penalty_needs_step``
        it is also given ``step``, D's update count (a scalar tensor), e.g. to compute the
        term every k steps, scaled by k, inside ``tf.cond``.
        """
        return None

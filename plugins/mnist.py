"""The MNIST dataset (LeCun & Cortes), from IDX files or Keras's ``mnist.npz``.

Files are found, read and downloaded as ``ganlab_plugins.idx`` describes: the recipe's
``path``; ``$GANLAB_DATA/mnist``; the Keras cache (``$KERAS_HOME/datasets`` or
``~/.keras/datasets``, where ``keras.datasets.mnist`` keeps ``mnist.npz``);
``~/.ganlab/data/mnist``; and last an MD5-checked download.
"""

from __future__ import annotations

from ganlab import hookimpl
from ganlab_plugins.idx import FILES, IdxDataset

__all__ = ["FILES", "MD5", "MIRRORS", "MNIST", "mnist"]

#: MD5 sums of the official files; a download that does not match is discarded.
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbf67e10fb",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
#: Tried in order; ``$GANLAB_MNIST_MIRROR`` (base URLs separated by spaces) replaces them.
MIRRORS = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)
MNIST = IdxDataset("mnist", "MNIST", MD5, MIRRORS, "GANLAB_MNIST_MIRROR", npz="mnist.npz")


@hookimpl
def register_datasets(register):
    register("mnist", mnist)


mnist = MNIST.builder("MNIST handwritten digits (LeCun & Cortes), 28x28 grayscale, IDX or Keras mnist.npz.")

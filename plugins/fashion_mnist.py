"""The Fashion-MNIST dataset (Xiao, Rasul & Vollgraf 2017, Zalando Research, MIT licence).

A drop-in replacement for MNIST: 28x28 grayscale images of clothing in ten classes
(0 T-shirt/top, 1 trouser, 2 pullover, 3 dress, 4 coat, 5 sandal, 6 shirt, 7 sneaker,
8 bag, 9 ankle boot), in MNIST's IDX format and file names. Files are found, read and
downloaded as ``ganlab_plugins.idx`` describes: the recipe's ``path``;
``$GANLAB_DATA/fashion_mnist``; the Keras cache (``$KERAS_HOME/datasets/fashion-mnist``,
where ``keras.datasets.fashion_mnist`` keeps the same four files);
``~/.ganlab/data/fashion_mnist``; and last an MD5-checked download.
"""

from __future__ import annotations

from ganlab import hookimpl
from ganlab_plugins.idx import IdxDataset

#: MD5 sums of the official files, as the Fashion-MNIST README publishes them.
MD5 = {
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
FASHION_MNIST = IdxDataset(
    "fashion_mnist",
    "Fashion-MNIST",
    MD5,
    # the dataset's own site, then its GitHub repository
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    mirror_env="GANLAB_FASHION_MNIST_MIRROR",  # base URLs separated by spaces, tried instead
    keras_folder="fashion-mnist",
)


@hookimpl
def register_datasets(register):
    register("fashion_mnist", fashion_mnist)


fashion_mnist = FASHION_MNIST.builder(
    "Fashion-MNIST clothing images (Zalando), 28x28 grayscale, 10 labelled classes, IDX files."
)

import numpy as np
import pytest


def write_digits_csv(path, n=64, size=28, header=True, labels=True, seed=0):
    """A CSV in Kaggle's digit-recognizer layout: a bright square whose place says the label."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 40, (n, size, size), dtype=np.uint8)
    digits = np.arange(n) % 10
    for image, digit in zip(images, digits):
        row, col = divmod(int(digit), 4)
        image[2 + 6 * row : 7 + 6 * row, 2 + 6 * col : 7 + 6 * col] = 255
    rows = images.reshape(n, -1).astype(int)
    if labels:
        rows = np.column_stack([digits, rows])
    names = (["label"] if labels else []) + [f"pixel{i}" for i in range(size * size)]
    lines = ([",".join(names)] if header else []) + [",".join(map(str, row)) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return images, digits


@pytest.fixture(scope="session")
def digits_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "train.csv"
    write_digits_csv(path)
    return path

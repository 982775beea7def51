"""A folder of PNG and JPEG images as a dataset, decoded with TensorFlow.

Every ``.png``, ``.jpg`` and ``.jpeg`` file below the folder is an image (hidden files and
folders are passed over), in the order of their paths; ``ganlab_plugins.folder_decode``
says how each becomes the recipe's channels and size.

Every file is decoded once while the dataset is built, so that an unreadable file is
found before training (and the dataset's size, which fixes the data order, is known):
``on_error`` says whether it stops the run or is left out. Datasets whose decoded pixels
fit in ``IN_MEMORY_BYTES`` are kept in memory from that pass; larger ones are decoded
again as training streams them (``ganlab.ImageFiles``), a few batches at a time. An
in-memory dataset's decoded array is cached under a hash of the files' contents and the
decoding parameters (``ganlab_plugins.folder_cache``), so the next run skips the decoding.

``subset`` picks its files from the sorted list before anything is decoded or hashed, so
a 5,000-image subset of a 50,000-image folder reads 5,000 files, and the cache key, made
of the chosen files' paths and contents, is the subset's own.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from pathlib import Path
from typing import Annotated, Literal

from ganlab import AtLeast, GanlabError, ImageData, ImageFiles, Length, Range, hookimpl, params_rule
from ganlab_plugins import folder_cache
from ganlab_plugins.folder_decode import Decoding, read

#: ``size``: [height, width], two positive integers (``ganlab check`` reads this; the builder checks again).
Size = Annotated[tuple[Annotated[int, AtLeast(1)], ...], Length(2)]
#: ``background``: [r, g, b], each 0..255.
Color = Annotated[tuple[Annotated[int, Range(0, 255)], ...], Length(3)]
WHITE = (255, 255, 255)

EXTENSIONS = (".png", ".jpg", ".jpeg")
#: ``in_memory: auto`` keeps the decoded images in memory up to this size (n x height x width x channels bytes).
IN_MEMORY_BYTES = 1 << 30
#: Files decoded per batch while the folder is scanned.
SCAN_BATCH = 256
#: Unreadable files named in the warning when they are skipped; the rest are counted.
NAMED = 5
#: Seed of ``subset``'s draw: fixed, so that a subset is the same files on every run and machine.
SUBSET_SEED = 0


@hookimpl
def register_datasets(register):
    register("image_folder", image_folder)


def _alpha_matches_channels(params) -> str | None:
    """``alpha: keep`` needs an alpha channel in the output (2 or 4 channels); ``composite`` leaves none."""
    channels, alpha = params["channels"], params["alpha"]
    if alpha == "keep" and channels in (1, 3):
        return (
            f"data.alpha: keep needs room for the alpha channel, found channels: {channels}; "
            "set data.channels: 4 (RGBA) or 2 (gray and alpha)"
        )
    if alpha == "composite" and channels in (2, 4):
        return (
            f"data.channels: {channels} holds an alpha channel; set data.alpha: keep "
            f"(composite leaves no alpha to hold), or data.channels: {channels - 1}"
        )
    return None


@params_rule(_alpha_matches_channels)
def image_folder(
    path: str,
    size: Size | None = None,
    channels: Literal[1, 2, 3, 4] = 3,
    fit: Literal["crop", "stretch"] = "crop",
    alpha: Literal["composite", "keep"] = "composite",
    background: Color = WHITE,
    labels: bool = False,
    on_error: Literal["stop", "skip"] = "stop",
    in_memory: bool | Literal["auto"] = "auto",
    cache: bool = True,
    subset: Annotated[int, AtLeast(1)] | None = None,
) -> ImageData:
    """A folder of PNG/JPEG images (8- or 16-bit, any mode), resized to gray, RGB or with alpha; labels from subfolders.

    Parameters:
        path: the folder; every PNG and JPEG file below it is an image.
        size: ``[height, width]`` to resize to. Null: the images' own size, which all of
            them must then share.
        channels: 1 (grayscale), 2 (grayscale and alpha), 3 (RGB) or 4 (RGBA).
        fit: ``crop`` keeps the aspect ratio, cutting the image's centre to the target's
            shape before resizing; ``stretch`` resizes the whole image.
        alpha: ``composite`` blends transparent pixels onto ``background`` (channels 1 and
            3); ``keep`` keeps the alpha channel as the last one (channels 2 and 4).
            Images without alpha are opaque.
        background: ``[r, g, b]``, 0..255, that ``alpha: composite`` blends onto (white).
        labels: one subfolder per class: an image's label is the index of the subfolder
            it is in, in sorted order.
        on_error: an unreadable image ``stop``s the run, naming the file, or is
            ``skip``ped with a warning naming it.
        in_memory: keep the decoded images in memory (``true``), decode them from their
            files as training streams them (``false``), or choose by size (``auto``:
            in memory up to 1 GiB of pixels).
        cache: keep an in-memory dataset's decoded images in ganlab's cache
            (``$GANLAB_CACHE`` or ``~/.ganlab/cache``), keyed by the files' contents and
            these parameters, and read them from there next time.
        subset: use only this many images, drawn at random (seed 0, the same files every
            run) before any is decoded; with ``labels``, an equal number from each class,
            the remainder one more each from the first classes. A smaller subset's files
            are among a larger one's. Null: every image.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise GanlabError(f"data.path {folder}: not a folder; point it at a folder of PNG or JPEG images")
    if size is not None and (len(size) != 2 or min(size) < 1):
        raise GanlabError(f"data.size: expected [height, width], two positive integers, found {list(size)}")
    if len(background) != 3 or not all(0 <= c <= 255 for c in background):
        raise GanlabError(f"data.background: expected [r, g, b], three integers 0..255, found {list(background)}")
    problem = _alpha_matches_channels({"channels": channels, "alpha": alpha})
    if problem:
        raise GanlabError(problem)
    relative = _image_files(folder)
    classes = _classes(folder, relative) if labels else None
    chosen = relative if subset is None else _subset(folder, relative, subset, labels)
    decoder = _Decoder(folder, chosen, size, channels, fit, tuple(background))
    data = decoder.data(classes, on_error, in_memory, cache)
    if subset is None:
        return data
    return dataclasses.replace(data, description=f"{data.description}, a subset of {subset} of {len(relative)} files")


def _image_files(folder: Path) -> list[tuple[str, ...]]:
    """The image files below ``folder`` as the parts of their paths relative to it, sorted; an error if there are none.

    Parts, not ``Path`` objects: at 50,000 files, pathlib's parsing took seconds of every load.
    """
    found, others = [], 0
    for where, subfolders, names in os.walk(folder):
        subfolders[:] = [d for d in subfolders if not d.startswith(".")]
        parts = Path(where).relative_to(folder).parts
        for name in names:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in EXTENSIONS:
                found.append((*parts, name))
            else:
                others += 1
    if not found:
        also = f" (it holds {others} other files)" if others else ""
        raise GanlabError(f"data.path {folder}: no PNG or JPEG images (.png, .jpg, .jpeg) in it or below it{also}")
    return sorted(found)


def _classes(folder: Path, relative: list[tuple[str, ...]]) -> list[str]:
    """The class subfolders, sorted; every image must be in one."""
    loose = next((parts for parts in relative if len(parts) == 1), None)
    if loose is not None:
        raise GanlabError(
            f"{folder / loose[0]}: data.labels is true, so every image must be in a subfolder of {folder} named after "
            "its class; move it, or set data.labels: false"
        )
    return sorted({parts[0] for parts in relative})


def _subset(folder: Path, relative: list[tuple[str, ...]], n: int, labelled: bool) -> list[tuple[str, ...]]:
    """``n`` of the files, in path order: per class (subfolder) if ``labelled``, else from all of them.

    Each class gets ``n // classes`` files, the first ``n % classes`` classes one more; a
    class's files are shuffled by a permutation drawn with ``SUBSET_SEED`` that does not
    depend on ``n``, and its share is taken from the front, so smaller subsets nest in larger ones.
    """
    import numpy as np

    if n > len(relative):
        raise GanlabError(
            f"data.subset: {n} images asked for, {folder} holds {len(relative)}; set a smaller subset, or null for all"
        )
    groups: dict[str, list] = {}
    for parts in relative:  # sorted, so the classes come in sorted order
        groups.setdefault(parts[0] if labelled else "", []).append(parts)
    rng = np.random.default_rng(SUBSET_SEED)
    chosen = []
    for i, (name, files) in enumerate(groups.items()):
        share = n // len(groups) + (i < n % len(groups))
        if share > len(files):
            raise GanlabError(
                f"data.subset: {n} images take {share} from class '{name}', which holds {len(files)}; "
                "set a smaller subset, or data.labels: false to draw from all images"
            )
        chosen += [files[j] for j in rng.permutation(len(files))[:share]]
    return sorted(chosen)


class _Decoder:
    """How this folder's images are decoded, scanned and handed to ganlab."""

    def __init__(self, folder, relative, size, channels, fit, background):
        self.folder, self.relative, self.channels = folder, relative, channels
        self.files = [os.path.join(folder, *parts) for parts in relative]
        self.native = size is None
        self.params = {"size": size and list(size), "channels": channels, "fit": fit, "background": list(background)}
        self.size = self._first_size() if self.native else tuple(size)
        self.decoding = Decoding(self.size, self.native, channels, fit, background)

    def _first_size(self):
        """The (height, width) of the first image that decodes: every image must have it."""
        import tensorflow as tf

        for f, parts in zip(self.files, self.relative):
            try:
                shape = read(tf.constant(f)).shape
            except tf.errors.OpError:
                continue
            self.first = "/".join(parts)
            return int(shape[0]), int(shape[1])
        return (1, 1)  # nothing decodes: the scan reports the files

    def data(self, classes, on_error, in_memory, cache) -> ImageData:
        """Scan every file (or read the cache); the readable ones as an ImageData, in memory or as files."""
        import numpy as np

        height, width = self.size
        pixels = len(self.files) * height * width * self.channels
        keep = in_memory is True or (in_memory == "auto" and pixels <= IN_MEMORY_BYTES)
        cached = folder_cache.path(self.files, self.relative, self.params) if keep and cache else None
        found = folder_cache.load(cached, (height, width, self.channels)) if cached else None
        good, images = found or self._scan(keep)
        self._report(np.setdiff1d(np.arange(len(self.files)), good), on_error)
        if cached and not found:
            folder_cache.save(cached, good, images)
        files = [self.files[i] for i in good]
        labels = None
        if classes is not None:
            index = {c: i for i, c in enumerate(classes)}
            labels = np.array([index[self.relative[i][0]] for i in good], np.int64)
        how = "in memory" if keep else "decoded as they stream"
        named = f", {len(classes)} classes: {', '.join(f'{i} {c}' for i, c in enumerate(classes))}" if classes else ""
        description = f"{len(files)} images {height}x{width}x{self.channels} from {self.folder} ({how}{named})"
        stored = images if keep else ImageFiles(files, (height, width, self.channels), self.decoding.decode)
        return ImageData(stored, labels, description)

    def _scan(self, keep):
        """Decode every file once, in parallel: the indices that decode (and, if ``keep``, their images)."""
        import numpy as np
        import tensorflow as tf

        paths = tf.data.Dataset.from_tensor_slices(self.files)
        numbered = tf.data.Dataset.zip(tf.data.Dataset.range(len(self.files)), paths)
        decode = self.decoding.decode
        if keep:
            decoded = numbered.map(lambda i, p: (i, decode(p)), num_parallel_calls=tf.data.AUTOTUNE)
        else:
            decoded = numbered.map(lambda i, p: (i, tf.shape(decode(p))), num_parallel_calls=tf.data.AUTOTUNE)
        good, images = [], []
        for index, image in decoded.ignore_errors().batch(SCAN_BATCH):
            good.append(index.numpy())
            if keep:
                images.append(image.numpy())
        good = np.concatenate(good) if good else np.zeros(0, np.int64)
        if not keep:
            return good, None
        return good, np.concatenate(images) if images else np.zeros((0, *self.size, self.channels), np.uint8)

    def _report(self, bad, on_error):
        """Stop on unreadable files, or warn about them; images of the wrong size always stop."""
        import tensorflow as tf

        if len(bad) == 0:
            return
        reasons = []
        for i in bad:
            path = tf.constant(str(self.files[i]))
            try:
                raw = read(path)
                if self.native:
                    raise GanlabError(
                        f"{self.files[i]}: the image is {raw.shape[0]}x{raw.shape[1]}, "
                        f"the first, {self.first}, is {self.size[0]}x{self.size[1]}; "
                        "set data.size: [height, width] to resize them all"
                    )
                self.decoding.decode(path)
            except tf.errors.OpError as exc:
                reasons.append(f"{self.files[i]} ({_tf_reason(exc)})")
                if on_error == "stop":
                    raise GanlabError(
                        f"{reasons[0]}: cannot decode it as an image; replace or remove it, "
                        "or set data.on_error: skip to leave such files out"
                    ) from None
        if len(bad) == len(self.files):
            raise GanlabError(
                f"data.path {self.folder}: none of its {len(bad)} images can be decoded, e.g. {reasons[0]}"
            )
        more = f" and {len(bad) - NAMED} more" if len(bad) > NAMED else ""
        print(
            f"ganlab: warning: data: skipped {len(bad)} of {len(self.files)} images that cannot be decoded: "
            f"{', '.join(reasons[:NAMED])}{more}",
            file=sys.stderr,
            flush=True,
        )


def _tf_reason(exc) -> str:
    """TensorFlow's error message without its op and function decorations."""
    message = re.sub(r"\{\{[^}]*\}\}|\[Op:[^\]]*\].*", "", exc.message.splitlines()[0])
    return message.strip().rstrip(".")

"""Latent walks: G's images along a closed loop through K random z, as frames or an animation
(``ganlab interpolate``, ``Run.interpolate`` in the Python API).

The loop visits the K points ``fixed_z`` draws for the seed (the z that ``ganlab sample -n K``
uses with that seed, so the walk passes through exactly those samples) and comes back to the
first, so a GIF or a video of it repeats without a jump. Between two points z moves along the
great circle (spherical interpolation, slerp) for normal noise: a straight line between two
Gaussian z runs through the low-norm middle where G saw almost no z in training. Uniform z
move along the straight line, which stays inside the cube U(-1, 1) draws from.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ganlab.errors import GanlabError
from ganlab.rundir import atomic_path
from ganlab.sampling import check_memory, check_output, fixed_z, generate, generators, source, truncate

#: What ``write`` can make, by suffix.
SUFFIXES = (".gif", ".mp4")
#: Frames are enlarged (nearest neighbour, a whole factor) until their shorter side is this long.
MIN_SIDE = 256
FFMPEG_MISSING = "writing .mp4 needs imageio's ffmpeg plugin: pip install imageio[ffmpeg] (or write a .gif)"


def slerp(a, b, t):
    """Spherical interpolation from vector ``a`` to ``b`` at fractions ``t`` (1-D), one row per t
    (Shoemake 1985). For a and b of one norm, as Gaussian z of many entries nearly are, the
    points lie on the great circle through them, at equal angles for equal steps of t.
    (Nearly) parallel a and b fall back to the straight line, which is then the arc.
    """
    a, b, t = np.asarray(a, np.float64), np.asarray(b, np.float64), np.asarray(t, np.float64)[:, None]
    cos = np.dot(a, b) / max(np.linalg.norm(a) * np.linalg.norm(b), np.finfo(np.float64).tiny)
    angle = math.acos(min(max(cos, -1.0), 1.0))
    if math.sin(angle) < 1e-6:
        return (1 - t) * a + t * b
    return (np.sin((1 - t) * angle) * a + np.sin(t * angle) * b) / math.sin(angle)


def walk(latent_dim, points, frames, noise, seed):
    """(points x frames, latent_dim) z: ``frames`` steps from each of the ``points`` z of
    ``fixed_z(latent_dim, points, noise, seed)`` towards the next, the last back to the first.
    Frame ``k * frames`` is point k itself."""
    keys = fixed_z(latent_dim, points, noise, seed)
    steps = np.arange(1, frames) / frames
    between = slerp if noise == "normal" else lambda a, b, t: (1 - t[:, None]) * a + t[:, None] * b
    segments = [[keys[k : k + 1], between(keys[k], keys[(k + 1) % points], steps)] for k in range(points)]
    return np.concatenate([part for segment in segments for part in segment]).astype(np.float32)


def interpolate(run_dir, output=None, points=4, frames=16, seed=0, label=None, truncation=None, fps=12,
                registry=None, load=None):
    """The walk's frames as images in [0, 1], (points x frames, height, width, channels); with
    ``output`` (.gif or .mp4) also written as an animation of ``fps`` frames per second.

    A conditional run needs ``label``: every frame shows that class. ``truncation`` as for
    ``ganlab sample``. ``load`` returns G (default: ``generators``, with ``registry``).
    """
    run_dir = Path(run_dir)
    if points < 2:
        raise GanlabError(f"--points {points}: a walk needs at least 2 points")
    if frames < 1:
        raise GanlabError(f"--frames {frames}: give at least 1 frame per step")
    if not 0 < fps <= 100:
        raise GanlabError(f"--fps {fps}: frames per second must be above 0 and at most 100")
    if output is not None:
        check_output(output, SUFFIXES, "write a .gif or an .mp4 animation")
        if Path(output).suffix.lower() == ".mp4":
            _ffmpeg()
    drawn_from = source(run_dir, seed, label, truncation)
    if drawn_from.classes is not None and label is None:
        raise GanlabError(
            f"--label: {run_dir} is a conditional run: choose the class to walk through with --label K "
            f"(0 to {drawn_from.classes - 1})"
        )
    generator = load() if load else generators(run_dir, registry, extra=False)["generator"]
    n = points * frames
    check_memory(n, generator.output_shape[1:], drawn_from.latent_dim, flag=f"--points {points} x --frames {frames} =")
    z = truncate(walk(drawn_from.latent_dim, points, frames, drawn_from.noise, seed), truncation, drawn_from.modes)
    labels = None if label is None else np.full(n, label, np.int32)
    images = generate(generator, z, drawn_from.output_range, labels)
    if output is not None:
        write(output, images, fps)
        print(f"ganlab: wrote a walk of {n} frames through {points} points to {output}")
    return images


def write(output, images, fps):
    """Write images in [0, 1] as a looping GIF or an H.264 MP4, enlarged to ``MIN_SIDE``, atomically."""
    import imageio.v3 as iio

    output = Path(output)
    frames = _enlarged(np.round(np.clip(images, 0.0, 1.0) * 255).astype(np.uint8))
    try:
        with atomic_path(output) as tmp:
            if output.suffix.lower() == ".gif":
                # optimize=False: Pillow's partial frames with transparency do not read back for grayscale
                gray = frames[..., 0] if frames.shape[-1] == 1 else frames
                iio.imwrite(tmp, gray, extension=".gif", duration=round(1000 / fps), loop=0, optimize=False)
            else:
                rgb = np.repeat(frames, 3, axis=-1) if frames.shape[-1] == 1 else frames
                iio.imwrite(tmp, rgb, extension=".mp4", plugin="FFMPEG", fps=fps, macro_block_size=1)
    except OSError as exc:
        raise GanlabError(f"-o {output}: cannot write it ({exc.strerror or exc}); choose another file") from None


def _enlarged(frames):
    """Frames repeated pixel by pixel until the shorter side reaches ``MIN_SIDE``; both sides even (H.264 needs it)."""
    _, h, w, _ = frames.shape
    factor = max(1, math.ceil(MIN_SIDE / min(h, w)))
    if (h * factor) % 2 or (w * factor) % 2:
        factor += 1
    return frames.repeat(factor, axis=1).repeat(factor, axis=2)


def _ffmpeg():
    try:
        import imageio_ffmpeg  # noqa: F401  (the plugin imageio writes .mp4 with)
    except ImportError:
        raise GanlabError(FFMPEG_MISSING) from None

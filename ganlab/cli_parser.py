"""The ``ganlab`` command line's flags: one argparse sub-parser per command.

Only declarations live here; ``ganlab.cli`` runs the command a parse names (``cmd_<command>``).
Flags take the recipe's ranges (``MAX_SEED``, ``MAX_LATENT_DIM``) and the names the components
and evaluators accept, so a bad flag is refused by argparse, as one line, before any work.
"""

from __future__ import annotations

import argparse

from ganlab import __version__
from ganlab.components.kinds import KINDS
from ganlab.console import EXIT_BAD_INPUT, MAX_BENCH_STEPS, image_shape_flag, positive_int, whole
from ganlab.evaluation.extractors import AUTO
from ganlab.evaluation.extractors import NAMES as EXTRACTOR_NAMES
from ganlab.export.formats import FORMATS
from ganlab.recipe.schema import MAX_LATENT_DIM, MAX_SEED


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line (no usage dump) pointing at --help."""

    def error(self, message):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _add_set(p):
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a recipe key (repeatable), e.g. --set training.epochs=5",
    )


def _add_draw(p, n_default, n_help, run_dir_help="run directory written by ganlab run"):
    """RUN_DIR, -n and --seed: what sample and eval share."""
    p.add_argument("run_dir", metavar="RUN_DIR", help=run_dir_help)
    p.add_argument("-n", type=positive_int, default=n_default, help=n_help)
    p.add_argument("--seed", type=whole(0, MAX_SEED), default=0, help="seed for z, 0 to 2**32-1 (default 0)")


def _add_truncation(p):
    p.add_argument(
        "--truncation",
        type=float,
        metavar="PSI",
        help="move z towards the mean latent by this factor, 0 to 1: less diversity, fewer odd images "
        "(default: none)",
    )


#: ``interpolate --points`` and ``--frames``: far beyond any useful animation, and the count stays an integer.
MAX_WALK = 10_000


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="ganlab",
        description="Train GANs from YAML recipes assembled from plugin components.",
    )
    parser.add_argument("--version", action="version", version=f"ganlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = commands.add_parser(
        "run",
        help="train a recipe, or resume a run",
        description="Train the GAN a recipe describes; everything goes to one run directory.",
    )
    p.add_argument("recipe", nargs="?", help="recipe YAML file")
    _add_set(p)
    p.add_argument("--out", metavar="DIR", help="run directory (default: <output.dir>/<recipe>-<timestamp>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last complete checkpoint")

    p = commands.add_parser(
        "list",
        help="list installed components",
        description="List every installed component, grouped by kind.",
    )
    p.add_argument("kind", nargs="?", choices=KINDS, help="only this kind")
    p.add_argument("-v", "--verbose", action="store_true", help="show each component's parameters, types and defaults")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = commands.add_parser(
        "check",
        help="validate a recipe without training",
        description="Validate a recipe and print it resolved, with defaults filled in.",
    )
    p.add_argument("recipe", help="recipe YAML file")
    _add_set(p)

    p = commands.add_parser(
        "sample",
        help="draw images from a trained generator",
        description="Draw images from a run's final generator.",
    )
    _add_draw(p, 64, "number of images (default 64)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="a .png grid, or a .npz of images in [0, 1]")
    p.add_argument(
        "--label",
        type=int,
        metavar="K",
        help="conditional runs: draw every image of class K (default: the classes in turn)",
    )
    _add_truncation(p)

    p = commands.add_parser(
        "interpolate",
        help="animate a walk through G's latent space",
        description="Draw a closed walk through K random z (spherical interpolation) as a GIF or MP4.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by ganlab run")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="a .gif, or an .mp4 (needs imageio[ffmpeg])")
    p.add_argument(
        "--points", type=whole(2, MAX_WALK), default=4, metavar="K",
        help=f"z the walk passes through, 2 to {MAX_WALK:,} (default 4)",
    )
    p.add_argument(
        "--frames", type=whole(1, MAX_WALK), default=16, metavar="F",
        help=f"frames from one z to the next, 1 to {MAX_WALK:,} (default 16)",
    )
    p.add_argument("--seed", type=whole(0, MAX_SEED), default=0, help="seed for the walk's z, 0 to 2**32-1 (default 0)")
    p.add_argument("--label", type=int, metavar="L", help="conditional runs (required there): the class to show")
    _add_truncation(p)
    p.add_argument("--fps", type=whole(1, 100), default=12, help="frames per second, 1 to 100 (default 12)")

    p = commands.add_parser(
        "eval",
        help="measure sample quality against real data",
        description="Score a run's samples and real held-out images with an extractor (ganlab's own "
        "classifier, its ssl encoder, or Inception); results go to RUN_DIR/eval.json.",
    )
    _add_draw(
        p,
        None,
        "samples to score (default: as many as there are reference images)",
        "run directory written by ganlab run (or, with --train-extractor or --images, a recipe)",
    )
    _add_set(p)
    p.add_argument(
        "--extractor",
        choices=(AUTO, *EXTRACTOR_NAMES),
        default=AUTO,
        help="what computes the features: classifier (labelled data), ssl (a contrastive encoder, any data), "
        "inception (published-comparable); auto: classifier when the data has labels, else ssl",
    )
    p.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="inception only: the inception-2015-12-05.tgz archive or its .pb "
        "(default: $GANLAB_INCEPTION_WEIGHTS, else ganlab's cache, downloading it once)",
    )
    p.add_argument(
        "--resize",
        choices=("clean", "legacy"),
        help="inception only: clean (antialiased bicubic to 299 px, clean-fid's) or legacy (the graph's bilinear)",
    )
    p.add_argument(
        "--images",
        metavar="FILE.npz",
        help="score these images (an .npz with 'images', uint8 or floats in [0, 1], and optional 'labels'; e.g. "
        "another framework's samples) against the data of RUN_DIR or a recipe; results go to FILE.eval.json",
    )
    p.add_argument(
        "--train-extractor",
        "--train-classifier",
        action="store_true",
        help="only train (or find cached) the extractor for the run's or recipe's dataset and report it",
    )

    p = commands.add_parser(
        "bench",
        help="time a recipe's train step",
        description="Time a recipe's train step after warm-up: steps/s, images/s, time to first step, peak memory, "
        "model FLOP utilisation.",
    )
    p.add_argument("recipe", help="recipe YAML file")
    p.add_argument(
        "--steps",
        type=whole(1, MAX_BENCH_STEPS),
        default=100,
        help=f"train steps to time, 1 to {MAX_BENCH_STEPS:,} (default 100)",
    )
    p.add_argument("--batch-size", type=positive_int, help="override training.batch_size")
    _add_set(p)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument(
        "--compare",
        action="store_true",
        help="time every candidate precision x XLA x steps-per-execution configuration, interleaved, "
        "--steps steps each, beside the auto choice",
    )

    p = commands.add_parser(
        "check-plugin",
        help="check a plugin's components against their contracts",
        description="Build every component of an installed plugin (or of every plugin of a distribution) and check it "
        "against its kind's contract: shapes, ranges, gradients, XLA, save/load. "
        "One line per check; exit status 1 if any fails.",
    )
    p.add_argument(
        "name",
        metavar="NAME",
        help="plugin name as ganlab list shows it (e.g. mlp), or a distribution name (e.g. ganlab)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KIND.NAME.PARAM=VALUE",
        help="a parameter for one component (repeatable), e.g. --set dataset.mnist.split=test",
    )
    p.add_argument(
        "--image-shape",
        type=image_shape_flag,
        metavar="H,W,C",
        help="images the generators and discriminators are checked on (default 28,28,1)",
    )
    p.add_argument(
        "--latent-dim",
        type=whole(1, MAX_LATENT_DIM),
        metavar="N",
        help=f"length of z for the generators, 1 to {MAX_LATENT_DIM:,} (default 100)",
    )

    p = commands.add_parser(
        "export",
        help="export a run's generator as SavedModel, ONNX or LiteRT",
        description="Write a run's generator (EMA weights if the run had EMA) in a format that runs without ganlab, "
        "checked against the Keras generator on the same z, with a JSON file of its inputs, output range and "
        "provenance beside it.",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="run directory written by ganlab run")
    p.add_argument("--format", required=True, choices=FORMATS, help="what to write")
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="where (default RUN_DIR/export/generator.onnx, generator.tflite or the folder generator_savedmodel)",
    )
    return parser

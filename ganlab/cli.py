"""The ``ganlab`` command line: ``run``, ``list``, ``check``, ``sample``, ``interpolate``, ``eval``, ``bench``,
``check-plugin``, ``export``.

``run``, ``sample``, ``interpolate`` and ``eval`` are thin wrappers around the Python API
(``ganlab.api``). Bad input ends in one line per problem on stderr and exit status 2, never a
traceback. TensorFlow is imported only by the commands that run models (run, sample,
interpolate, eval, bench, check-plugin, export), and only after their input has been checked.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

STARTED = time.perf_counter()  # for "time to first step" in ganlab bench: taken before ganlab's own imports

from ganlab import __version__, api  # noqa: E402
from ganlab.components import listing  # noqa: E402
from ganlab.components.kinds import KINDS  # noqa: E402
from ganlab.components.loading import load_registry  # noqa: E402
from ganlab.console import (  # noqa: E402
    EXIT_PIPE_CLOSED,
    MAX_BENCH_STEPS,
    caused_by_closed_pipe,
    drop_closed_output,
    emit,
    image_shape_flag,
    import_tensorflow_quietly,
    positive_int,
    prepare_streams,
    whole,
)
from ganlab.errors import GanlabError  # noqa: E402
from ganlab.evaluation.extractors import AUTO  # noqa: E402
from ganlab.evaluation.extractors import NAMES as EXTRACTOR_NAMES  # noqa: E402
from ganlab.export.formats import FORMATS  # noqa: E402
from ganlab.recipe.schema import MAX_LATENT_DIM, MAX_SEED  # noqa: E402  (flags take the recipe's ranges)
from ganlab.recipe.validate import load_recipe  # noqa: E402

EXIT_BAD_INPUT = 2


def cmd_list(args):
    registry = load_registry()
    kinds = [args.kind] if args.kind else list(KINDS)
    text = listing.as_json(registry, kinds) if args.json else listing.as_text(registry, kinds, args.verbose)
    emit(text if text.endswith("\n") else text + "\n")


def cmd_check(args):
    recipe = load_recipe(args.recipe, load_registry(), args.set)
    emit(f"# {args.recipe}: ok, resolved with defaults filled in\n")
    emit(recipe.to_yaml())


def cmd_check_plugin(args):
    from ganlab.conformance import runner  # only here: the conformance suite is not part of list and check

    context = {"image_shape": args.image_shape, "latent_dim": args.latent_dim}
    settings = runner.parse_settings(args.set)
    if args.image_shape is not None:
        _check_plugin_images_fit(args.image_shape)
    given = {k: v for k, v in context.items() if v is not None}
    loading, checks = runner.check_plugin(load_registry(), args.name, settings, **given)
    import_tensorflow_quietly()
    results = list(loading)
    for result in loading:
        emit(result.line() + "\n", flush=True)
    for check in checks:
        for result in check.run():
            results.append(result)
            emit(result.line() + "\n", flush=True)
    failed = sum(not r.ok for r in results)
    if failed:
        raise runner.ContractBroken(
            f"check-plugin {args.name}: {failed} of {len(results)} checks failed (FAIL lines above)"
        )
    components = f"{len(checks)} component{'' if len(checks) == 1 else 's'}"
    emit(f"ganlab: check-plugin {args.name}: all {len(results)} checks of {components} passed\n")


def _check_plugin_images_fit(image_shape):
    """Refuse an --image-shape whose images alone cannot fit: the checks hold float32 batches of
    them (up to 16 images), G's outputs and D's gradients besides, before any plugin model."""
    from ganlab import resources

    shape = ",".join(map(str, image_shape))
    images = resources.Part(
        f"the checks' batches of {shape} images", 2 * 16 * math.prod(image_shape) * resources.FLOAT, "--image-shape"
    )
    resources.check_fits([images], what=f"--image-shape {shape}")


def cmd_run(args):
    if args.resume:
        if args.recipe:
            raise GanlabError("ganlab run: give either RECIPE or --resume RUN_DIR, not both")
        api.resume(args.resume, args.set)
        return
    if not args.recipe:
        raise GanlabError(
            "ganlab run: missing RECIPE (a YAML file such as recipes/vanilla_mnist.yaml), or use --resume RUN_DIR"
        )
    api.train(args.recipe, args.set, out=args.out)


def cmd_sample(args):
    run = api.load_run(args.run_dir)
    run.sample(args.n, seed=args.seed, label=args.label, truncation=args.truncation, output=args.output)


def cmd_interpolate(args):
    run = api.load_run(args.run_dir)
    run.interpolate(
        args.points, args.frames, seed=args.seed, label=args.label, truncation=args.truncation, output=args.output,
        fps=args.fps,
    )


def cmd_eval(args):
    from ganlab.evaluation.report import describe, table

    extractor = dict(extractor=args.extractor, inception_weights=args.inception_weights, resize=args.resize)
    if args.train_extractor:
        info = api.train_extractor(args.run_dir, overrides=args.set, **extractor)
        trained = f", trained on {info['trained_on']} images" if "trained_on" in info else ""
        emit(f"{describe(info)}: {info.get('file') or info.get('weights')}{trained}\n")
        emit(f"reference set: {info['reference']}\n")
        return
    result = api.evaluate(args.run_dir, n=args.n, seed=args.seed, images=args.images, overrides=args.set, **extractor)
    emit(table(result) + "\n")


def cmd_bench(args):
    overrides = list(args.set)
    if args.batch_size is not None:
        overrides.append(f"training.batch_size={args.batch_size}")
    recipe = load_recipe(args.recipe, load_registry(), overrides)
    import_tensorflow_quietly()
    from ganlab.bench import bench, compare, compare_report, report

    if args.compare:
        result = compare(recipe, steps=args.steps)
        emit((json.dumps(result, indent=2) if args.json else compare_report(result)) + "\n")
        return
    result = bench(recipe, steps=args.steps, started=STARTED)
    emit((json.dumps(result, indent=2) if args.json else report(result)) + "\n")


def cmd_export(args):
    from ganlab.export.exporter import metadata_path

    path = api.load_run(args.run_dir).export(args.format, args.output)
    emit(f"ganlab: wrote {path} and {metadata_path(path).name} beside it\n")


class _Parser(argparse.ArgumentParser):
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
    parser = _Parser(
        prog="ganlab",
        description="Train GANs from YAML recipes assembled from plugin components.",
    )
    parser.add_argument("--version", action="version", version=f"ganlab {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = commands.add_parser(
        "run",
        help="train a recipe, or resume a run",
        description="Train the GAN a recipe describes; everything goes to one run directory.",
    )
    p.add_argument("recipe", nargs="?", help="recipe YAML file")
    _add_set(p)
    p.add_argument("--out", metavar="DIR", help="run directory (default: <output.dir>/<recipe>-<timestamp>)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its last complete checkpoint")
    p.set_defaults(func=cmd_run)

    p = commands.add_parser(
        "list",
        help="list installed components",
        description="List every installed component, grouped by kind.",
    )
    p.add_argument("kind", nargs="?", choices=KINDS, help="only this kind")
    p.add_argument("-v", "--verbose", action="store_true", help="show each component's parameters, types and defaults")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_list)

    p = commands.add_parser(
        "check",
        help="validate a recipe without training",
        description="Validate a recipe and print it resolved, with defaults filled in.",
    )
    p.add_argument("recipe", help="recipe YAML file")
    _add_set(p)
    p.set_defaults(func=cmd_check)

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
    p.set_defaults(func=cmd_sample)

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
    p.set_defaults(func=cmd_interpolate)

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
    p.set_defaults(func=cmd_eval)

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
    p.set_defaults(func=cmd_bench)

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
    p.set_defaults(func=cmd_check_plugin)

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
    p.set_defaults(func=cmd_export)
    return parser


def main(argv=None) -> int:
    # TensorFlow's C++ start-up chatter (CUDA probes, CPU feature notes) is noise to a
    # user of the CLI; an explicit TF_CPP_MIN_LOG_LEVEL still wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    prepare_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        try:
            args.func(args)
            emit("", flush=True)  # a closed pipe or a full disk shows here, not at interpreter exit
        except GanlabError as exc:
            if caused_by_closed_pipe(exc):  # e.g. "cannot write to RUN_DIR" from a print to a closed pipe
                raise BrokenPipeError from exc
            try:
                for line in exc.lines:
                    print(f"ganlab: error: {line}", file=sys.stderr)
            except BrokenPipeError:
                drop_closed_output()  # nobody reads stderr: the status still says what happened
            return exc.exit_code
        except KeyboardInterrupt:
            print("ganlab: interrupted", file=sys.stderr)
            return 130
        except Exception as exc:
            from ganlab import resources  # only now: numpy is not for list and check

            if not resources.is_allocation_failure(exc):
                raise
            print(f"ganlab: error: {resources.allocation_message(exc)}", file=sys.stderr)
            return EXIT_BAD_INPUT
    except BrokenPipeError:
        drop_closed_output()
        return EXIT_PIPE_CLOSED
    return 0




if __name__ == "__main__":
    sys.exit(main())

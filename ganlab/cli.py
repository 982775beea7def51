"""The ``ganlab`` command line: ``run``, ``list``, ``check``, ``sample``, ``interpolate``, ``eval``, ``bench``,
``check-plugin``, ``export``.

Each command is a ``cmd_<command>`` function here; its flags are declared in
``ganlab.cli_parser``. ``run``, ``sample``, ``interpolate``, ``eval`` and ``export`` are thin
wrappers around the Python API (``ganlab.api``). Bad input ends in one line per problem on
stderr and exit status 2, never a traceback. TensorFlow is imported only by the commands that
run models (run, sample, interpolate, eval, bench, check-plugin, export), and only after their
input has been checked.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time

STARTED = time.perf_counter()  # for "time to first step" in ganlab bench: taken before ganlab's own imports

from ganlab import api  # noqa: E402
from ganlab.cli_parser import build_parser  # noqa: E402
from ganlab.components import listing  # noqa: E402
from ganlab.components.kinds import KINDS  # noqa: E402
from ganlab.components.loading import load_registry  # noqa: E402
from ganlab.console import (  # noqa: E402
    EXIT_BAD_INPUT,
    EXIT_PIPE_CLOSED,
    caused_by_closed_pipe,
    drop_closed_output,
    emit,
    import_tensorflow_quietly,
    prepare_streams,
)
from ganlab.errors import GanlabError  # noqa: E402
from ganlab.recipe.validate import load_recipe  # noqa: E402


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


def main(argv=None) -> int:
    # TensorFlow's C++ start-up chatter (CUDA probes, CPU feature notes) is noise to a
    # user of the CLI; an explicit TF_CPP_MIN_LOG_LEVEL still wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    prepare_streams()
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_BAD_INPUT
    run_command = globals()[f"cmd_{args.command.replace('-', '_')}"]  # looked up now: tests may replace one
    try:
        try:
            run_command(args)
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

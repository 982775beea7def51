"""blame(): an exception from a training step mapped to the component whose code raised it, in one line."""

from types import SimpleNamespace

from ganlab import ImageData, Loss
from ganlab.components.blame import LIMIT, blame
from ganlab.components.component import Component
from tests import toy_plugins as toys


class Broken(Loss):
    def d_loss(self, real_logits, fake_logits):
        raise ValueError("Dimensions must be equal, but are 32 and 8")

    def g_loss(self, fake_logits):
        return 0.0


def broken_loss():
    """A loss whose d_loss raises."""
    return Broken()


def images():
    """A dataset in the same module as the loss."""
    return ImageData(None)


def recipe():
    return SimpleNamespace(
        components={
            "data": Component("dataset", "images", images, "zoo", "ganlab-zoo", "1.0"),
            "generator": Component("generator", "dense", toys.dense_generator, "toys"),
            "loss": Component("loss", "broken", broken_loss, "zoo", "ganlab-zoo", "1.0"),
        }
    )


def engine_step(loss):
    """Stands in for ganlab's train step: the plugin's method is called from outside its module."""
    return loss.d_loss(None, None)


def raised(call, *args):
    try:
        call(*args)
    except Exception as exc:
        return exc
    raise AssertionError("did not raise")


def test_the_innermost_frame_of_a_component_names_it():
    line = blame(raised(engine_step, broken_loss()), recipe())
    # test_blame.py holds both the dataset's and the loss's builder: the method of a Loss subclass is the loss's
    assert line == (
        "loss 'zoo:broken' (plugin zoo, ganlab-zoo 1.0) failed in a training step, in d_loss at test_blame.py:13 "
        "(ganlab check-plugin zoo tests it): ValueError: Dimensions must be equal, but are 32 and 8"
    )


def test_frames_tensorflow_writes_into_the_message_count():
    message = (
        "in user code:\n\n"
        f'    File "{toys.__file__}", line 145, in penalty\n'
        "        mixed = e * real + (1.0 - e) * fake\n\n"
        "    ValueError: Dimensions must be equal" + " x" * 1000
    )
    line = blame(ValueError(message), recipe())
    assert line.startswith(
        "generator 'toys:dense' (plugin toys) failed in a training step, in penalty at toy_plugins.py:145 "
        "(ganlab check-plugin toys tests it): ValueError: in user code: File "
    )
    assert len(line) == LIMIT and line.endswith("…")


def test_no_component_frame_is_none():
    only_toys = SimpleNamespace(components={"generator": recipe().components["generator"]})
    assert blame(raised(int, "x"), only_toys) is None
    assert blame(raised(engine_step, broken_loss()), SimpleNamespace(components={})) is None

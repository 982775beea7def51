"""Plugin objects registered directly into an isolated registry by the tests."""

from typing import Literal

from ganlab import hookimpl


def dense_generator(latent_dim: int, image_shape: tuple, width: int = 8, activation: Literal["tanh", "sigmoid"] = "tanh"):
    """A one-layer generator for tests."""
    import keras

    z = keras.Input((latent_dim,))
    x = keras.layers.Dense(int(__import__("math").prod(image_shape)), activation=activation)(keras.layers.Dense(width)(z))
    return keras.Model(z, keras.layers.Reshape(image_shape)(x))


def needs_depth(latent_dim: int, image_shape: tuple, depth: int):
    """A generator with a required parameter."""
    raise AssertionError("not built in these tests")


class Toys:
    @hookimpl
    def register_generators(self, register):
        register("dense", dense_generator)
        register("deep", needs_depth)


class Rival:
    """Registers a generator under a name Toys also uses."""

    @hookimpl
    def register_generators(self, register):
        register("dense", dense_generator)


class Misspelled:
    @hookimpl
    def register_generator(self, register):  # missing the final 's'
        register("x", dense_generator)


class WrongSignature:
    @hookimpl
    def register_losses(self, register, extra):
        pass


class Raises:
    @hookimpl
    def register_losses(self, register):
        register("half", dense_generator)
        raise RuntimeError("boom in hook")

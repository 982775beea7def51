"""The kinds of component and what ganlab passes to each kind's builders."""

KINDS = ("generator", "discriminator", "loss", "dataset")


#: Arguments ganlab supplies to builders of each kind; they are not recipe parameters.
CONTEXT_ARGS = {
    "generator": ("latent_dim", "image_shape"),
    "discriminator": ("image_shape",),
    "loss": (),
    "dataset": (),
}


#: Arguments ganlab supplies only to builders that name them. A generator or
#: discriminator builder with a ``num_classes`` parameter is *conditional*: ganlab passes
#: the dataset's class count (largest label + 1), and the model takes ``[z, labels]`` (G)
#: or ``[images, labels]`` (D), labels int32 of shape (batch,).
OPTIONAL_CONTEXT_ARGS = {"generator": ("num_classes",), "discriminator": ("num_classes",), "loss": (), "dataset": ()}

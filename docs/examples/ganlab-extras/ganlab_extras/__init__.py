"""ganlab-extras: one component of each kind, registered through ganlab's hooks.

This module is the plugin (the entry point ``extras`` names it). It imports the
builders, which import TensorFlow only when called, so ``ganlab list`` stays fast.
"""

from ganlab import hookimpl

from ganlab_extras.csv_pixels import csv_pixels
from ganlab_extras.fgan import fgan
from ganlab_extras.spectral import sn_conv
from ganlab_extras.upsample import upsample_conv

__version__ = "0.1.0"


@hookimpl
def register_generators(register):
    register("upsample_conv", upsample_conv)


@hookimpl
def register_discriminators(register):
    register("sn_conv", sn_conv)


@hookimpl
def register_losses(register):
    register("fgan", fgan)


@hookimpl
def register_datasets(register):
    register("csv_pixels", csv_pixels)

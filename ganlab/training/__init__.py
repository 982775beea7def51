"""Training: assembling a recipe's parts, the adversarial engine and what D sees, InfoGAN,
optimizers, the real-data stream, checkpoints, distribution, layers, and ``run``/``resume``."""

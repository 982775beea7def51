"""The plain PyTorch MLP GAN ganlab's vanilla step is timed against (``ganlab bench``).

The same shapes and training step as recipes/vanilla_mnist.yaml with ganlab's mlp plugin:
G: z(100) -> [Dense -> LeakyReLU(0.2) -> BatchNorm] x (256, 512, 1024) -> Dense 784 -> tanh;
D: 784 -> [Dense -> LeakyReLU(0.2) -> Dropout(0.3)] x (512, 256) -> Dense 1, a logit.
Batch norm momentum 0.8 in Keras' convention is 0.2 in PyTorch's. Batch 128; per step, as
ganlab's engine does it: one D step on real and G(z) concatenated into one forward pass
(loss 0.5 * (BCE(real, 1) + BCE(fake, 0))), then one G step on a fresh z through D
(non-saturating BCE), then an EMA of G (decay 0.9998 with the same warm-up as ganlab's,
batch-norm statistics copied) with torch._foreach ops. Adam(beta1 0.5, beta2 0.999), 2e-4
for D and 8e-4 for G, fused kernels. The real images are random MNIST-shaped tensors in
[-1, 1] held in memory, so what is timed is the training step alone, not an input pipeline.

Four configurations: eager or ``--compile`` (torch.compile of G, D, both optimizer updates
and the EMA update: compiling the step as a whole breaks the graph at every backward and
optimizer call; the inductor needs a C++ compiler), float32 or ``--bf16`` (torch.autocast on the CPU, bfloat16; the
weights and optimizer stay float32). ``--all`` runs the four in interleaved rounds and
reports each one's median steps/s over the rounds.

    python docs/examples/pytorch_mlp_gan.py --steps 500 --warmup 50            # eager float32
    python docs/examples/pytorch_mlp_gan.py --compile --bf16 --steps 500
    python docs/examples/pytorch_mlp_gan.py --all --steps 300 --rounds 5

Needs torch (not ganlab). Threads: all CPUs unless ``--threads``. See docs/performance.md.
"""

import argparse
import contextlib
import os
import statistics
import time

import torch
from torch import nn

LATENT, PIXELS, BATCH = 100, 28 * 28, 128
G_HIDDEN, D_HIDDEN = (256, 512, 1024), (512, 256)
EMA = 0.9998


def generator():
    layers, width = [], LATENT
    for units in G_HIDDEN:
        layers += [nn.Linear(width, units), nn.LeakyReLU(0.2), nn.BatchNorm1d(units, eps=1e-3, momentum=0.2)]
        width = units
    return nn.Sequential(*layers, nn.Linear(width, PIXELS), nn.Tanh())


def discriminator():
    layers, width = [], PIXELS
    for units in D_HIDDEN:
        layers += [nn.Linear(width, units), nn.LeakyReLU(0.2), nn.Dropout(0.3)]
        width = units
    return nn.Sequential(*layers, nn.Linear(width, 1))


class Gan:
    """G, D, the EMA of G and both optimizers; ``step(real)`` is one training step."""

    def __init__(self, bf16, compiled, seed=0):
        torch.manual_seed(seed)
        self.g, self.d = generator(), discriminator()
        self.ema = generator()
        self.ema.load_state_dict(self.g.state_dict())
        self.ema.requires_grad_(False)
        # Eager: Adam's fused CPU kernel. Compiled: the foreach form, which the inductor turns
        # into its own fused kernels (PyTorch's recipe for compiling an optimizer).
        kernels = {"foreach": True} if compiled else {"fused": True}
        self.opt_g = torch.optim.Adam(self.g.parameters(), lr=8e-4, betas=(0.5, 0.999), **kernels)
        self.opt_d = torch.optim.Adam(self.d.parameters(), lr=2e-4, betas=(0.5, 0.999), **kernels)
        self.updates = torch.zeros(())  # G's update count, a tensor so that a compiled update is not recompiled
        self.bf16 = bf16
        if compiled:
            self.g.compile()
            self.d.compile()
            self.opt_g.step = torch.compile(self.opt_g.step)
            self.opt_d.step = torch.compile(self.opt_d.step)
            self.average = torch.compile(self.average)

    def autocast(self):
        return torch.autocast("cpu", dtype=torch.bfloat16) if self.bf16 else contextlib.nullcontext()

    def step(self, real):
        batch = real.shape[0]
        with torch.no_grad(), self.autocast():
            fake = self.g(torch.randn(batch, LATENT))
        with self.autocast():
            logits = self.d(torch.cat([real, fake.to(real.dtype)])).float()
        real_logits, fake_logits = logits[:batch], logits[batch:]
        d_loss = 0.5 * (nn.functional.softplus(-real_logits).mean() + nn.functional.softplus(fake_logits).mean())
        self.opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        self.opt_d.step()

        with self.autocast():
            fake_logits = self.d(self.g(torch.randn(batch, LATENT))).float()
        g_loss = nn.functional.softplus(-fake_logits).mean()
        self.opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        self.opt_g.step()
        self.average()
        return d_loss.detach(), g_loss.detach()

    @torch.no_grad()
    def average(self):
        # ganlab's warm-up (as tf.train.ExponentialMovingAverage's num_updates): early on
        # the average follows G closely instead of staying near the initial weights.
        self.updates += 1
        decay = torch.clamp((1 + self.updates) / (10 + self.updates), max=EMA)
        shadow = list(self.ema.parameters())
        torch._foreach_mul_(shadow, decay)
        torch._foreach_add_(shadow, torch._foreach_mul(list(self.g.parameters()), 1 - decay))
        torch._foreach_copy_(list(self.ema.buffers()), list(self.g.buffers()))


def label(compiled, bf16):
    return f"{'compiled' if compiled else 'eager'} {'bfloat16' if bf16 else 'float32'}"


def runner(compiled, bf16, data):
    """A function ``run(steps) -> seconds`` that trains ``steps`` steps of one configuration."""
    gan = Gan(bf16, compiled)
    batches = data.split(BATCH)[:-1] if len(data) % BATCH else data.split(BATCH)

    def run(steps):
        start = time.perf_counter()
        for i in range(steps):
            d_loss, _ = gan.step(batches[i % len(batches)])
        d_loss.item()  # wait for the last step
        return time.perf_counter() - start

    return run


def report(name, seconds_per_step):
    print(f"{name}: {1 / seconds_per_step:.1f} steps/s, {1000 * seconds_per_step:.2f} ms/step")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile", action="store_true", help="torch.compile G, D and the updates")
    parser.add_argument("--bf16", action="store_true", help="bfloat16 autocast (weights stay float32)")
    parser.add_argument("--all", action="store_true", help="the four configurations, interleaved")
    parser.add_argument("--steps", type=int, default=500, help="timed steps (per round with --all)")
    parser.add_argument("--warmup", type=int, default=50, help="untimed steps first (compiling included)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds with --all; the median is reported")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = torch.rand(64 * BATCH, PIXELS) * 2 - 1  # MNIST-shaped, random: the step alone is timed
    configs = [(c, b) for c in (False, True) for b in (False, True)] if args.all else [(args.compile, args.bf16)]
    runs = {config: runner(*config, data) for config in configs}
    for run in runs.values():
        run(args.warmup)
    rounds = args.rounds if args.all else 1
    times = {config: [] for config in configs}
    for _ in range(rounds):
        for config, run in runs.items():
            times[config].append(run(args.steps) / args.steps)
    print(f"torch {torch.__version__}, {args.threads} threads, batch {BATCH}, {args.steps} steps x {rounds} round(s)")
    for config, seconds in times.items():
        report(label(*config), statistics.median(seconds))


if __name__ == "__main__":
    main()

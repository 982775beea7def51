"""The reference ganlab's recipes/dcgan_cifar10.yaml is compared with: the PyTorch examples
DCGAN (github.com/pytorch/examples, dcgan/main.py), adapted to 32x32 by dropping one
up-/down-sampling block, trained for a fixed wall time, then sampled into an .npz that
``ganlab eval RECIPE --images`` scores with the same extractor and baseline as a ganlab run.

Kept as in the example: ngf = ndf = 64, nz = 100, batch 64, BCE, Adam(2e-4, beta1 0.5),
N(0, 0.02) conv weights and N(1, 0.02) batch-norm gains, LeakyReLU(0.2), BN in G and D
(not on D's first layer), labels 1 for real and 0 for fake, one D step then one G step.

    python docs/examples/pytorch_dcgan_cifar10.py --data ../shared/data/cifar10/train \\
        --minutes 30 --out runs/pytorch_dcgan.npz
    ganlab eval recipes/dcgan_cifar10.yaml --images runs/pytorch_dcgan.npz \\
        --set data.path=../shared/data/cifar10/train

Needs torch, numpy and imageio (not ganlab). See docs/results.md.
"""

import argparse
import time
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import torch
from torch import nn

NZ, NGF, NDF, BATCH = 100, 64, 64, 64


def generator():
    return nn.Sequential(
        nn.ConvTranspose2d(NZ, NGF * 4, 4, 1, 0, bias=False), nn.BatchNorm2d(NGF * 4), nn.ReLU(True),  # 4x4
        nn.ConvTranspose2d(NGF * 4, NGF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF * 2), nn.ReLU(True),  # 8x8
        nn.ConvTranspose2d(NGF * 2, NGF, 4, 2, 1, bias=False), nn.BatchNorm2d(NGF), nn.ReLU(True),  # 16x16
        nn.ConvTranspose2d(NGF, 3, 4, 2, 1, bias=False), nn.Tanh(),  # 32x32
    )


def discriminator():
    return nn.Sequential(
        nn.Conv2d(3, NDF, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True),  # 16x16
        nn.Conv2d(NDF, NDF * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 2), nn.LeakyReLU(0.2, inplace=True),  # 8x8
        nn.Conv2d(NDF * 2, NDF * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(NDF * 4), nn.LeakyReLU(0.2, inplace=True),
        nn.Conv2d(NDF * 4, 1, 4, 1, 0, bias=False), nn.Flatten(),  # 4x4 -> one logit
    )


def init_weights(module):
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


def load_images(folder):
    """Every JPEG/PNG below ``folder`` as a float tensor (n, 3, 32, 32) in [-1, 1]."""
    paths = sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    images = np.stack([iio.imread(p) for p in paths]).astype(np.float32)
    return torch.from_numpy(images).permute(0, 3, 1, 2) / 127.5 - 1.0


def train(data, minutes, seed):
    torch.manual_seed(seed)
    g, d = generator(), discriminator()
    g.apply(init_weights)
    d.apply(init_weights)
    opt_g = torch.optim.Adam(g.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), lr=2e-4, betas=(0.5, 0.999))
    bce = nn.BCEWithLogitsLoss()
    ones, zeros = torch.ones(BATCH, 1), torch.zeros(BATCH, 1)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < minutes * 60:
        for batch in torch.randperm(len(data)).split(BATCH):
            if len(batch) < BATCH or time.perf_counter() - start >= minutes * 60:
                break
            fake = g(torch.randn(BATCH, NZ, 1, 1))
            opt_d.zero_grad()
            (bce(d(data[batch]), ones) + bce(d(fake.detach()), zeros)).backward()
            opt_d.step()
            opt_g.zero_grad()
            bce(d(fake), ones).backward()
            opt_g.step()
            steps += 1
    return g, steps, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="folder of 32x32 RGB training images")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="the .npz to write (uint8 images, for ganlab eval --images)")
    args = parser.parse_args()
    g, steps, seconds = train(load_images(args.data), args.minutes, args.seed)
    g.eval()
    with torch.no_grad():
        images = g(torch.randn(args.samples, NZ, 1, 1))
    pixels = ((images.permute(0, 2, 3, 1).numpy() + 1.0) * 127.5).round().clip(0, 255).astype(np.uint8)
    np.savez_compressed(args.out, images=pixels)
    print(f"{steps} steps in {seconds:.0f} s ({steps / seconds:.2f} steps/s); {args.samples} samples in {args.out}")


if __name__ == "__main__":
    main()

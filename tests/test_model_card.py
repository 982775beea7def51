"""MODEL_CARD.md: written at the end of a run from the run's own files, and again with every evaluation."""

import json
import re

import pytest

from ganlab.components.loading import load_registry
from tests import toy_plugins
from tests.helpers import tiny

#: One evaluation as ``ganlab eval`` appends it to eval.json (the fields the card reads).
EVALUATION = {
    "created": "2026-01-02T03:04:05",
    "n": 50,
    "seed": 0,
    "extractor": {"extractor": "classifier", "hash": "0123456789abcdef", "held_out_accuracy": 0.97},
    "reference": "100 of 400 real images held out, first 50 used",
    "results": {
        "real_baseline": {"classifier_score": 8.5, "classes_covered": 10, "kl_to_uniform": 0.01, "fid": 1.25},
        "generator": {"classifier_score": 3.25, "classes_covered": 6, "kl_to_uniform": 0.4, "fid": 41.5},
    },
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from ganlab.training.run import train

    reg = load_registry(plugins=[("toolkit", toy_plugins.Toolkit())])
    return train(tiny(reg, epochs=1, ema=0.9), out=tmp_path_factory.mktemp("card") / "run")


def test_a_finished_run_has_a_card_with_its_recipe_data_training_and_samples(run_dir):
    card = (run_dir / "MODEL_CARD.md").read_text()
    for heading in ("## Model", "## Recipe", "## Data", "## Training", "## Evaluation", "## Samples",
                    "## Intended use and limits"):
        assert f"\n{heading}\n" in card, heading
    assert "- generator: `mlp:mlp (ganlab 0.1.0)` (hidden=[32, 32], dropout=0.2" in card
    assert "| `training.latent_dim` | 8 |" in card and "| `training.ema` | 0.9 |" in card
    assert "`toolkit:noise (unpackaged)` (n=256" in card and "- images: 8x8x1" in card
    assert "- 1 epoch, 4 steps (G updates)" in card and "`generator_raw.keras` (the raw weights)" in card
    assert "Not evaluated yet" in card
    links = re.findall(r"\]\(([^)]+)\)", card)
    assert "samples/epoch_0001.png" in links and "recipe.yaml" in links
    assert all((run_dir / link).exists() for link in links), links  # relative links that resolve


def test_the_card_shows_every_evaluation_with_its_provenance(run_dir):
    from ganlab.model_card import write_model_card

    (run_dir / "eval.json").write_text(json.dumps([EVALUATION]))
    try:
        card = write_model_card(run_dir).read_text()
    finally:
        (run_dir / "eval.json").unlink()
    evaluation = card[card.index("## Evaluation"):card.index("## Samples")]
    assert "### 2026-01-02T03:04:05: extractor classifier 0123456789abcdef (held-out accuracy 0.9700)" in evaluation
    assert "50 samples, seed 0; reference: 100 of 400 real images held out, first 50 used" in evaluation
    assert re.search(r"real_baseline +8\.500 +10 +0\.0100 +1\.250", evaluation)
    assert re.search(r"generator +3\.250 +6 +0\.4000 +41\.500", evaluation)
    assert "Not evaluated yet" not in card

"""helpers.zoo: one recipe per model, trained once, then loaded from the cache."""

import pytest
import torch
from torch import nn

from helpers import answer, zoo


class Counter:
    """A recipe that trains a tiny linear model and counts its trainings."""

    def __init__(self):
        self.calls = 0

    def build(self):
        return {"a": nn.Linear(3, 1), "b": nn.Linear(3, 2)}

    def run(self, progress=True, scale=1.0):
        self.calls += 1
        torch.manual_seed(0)
        models = self.build()
        with torch.no_grad():
            for m in models.values():
                m.weight.mul_(scale)
        return models, {"accuracy": 0.5 * scale, "per_half": {"left": 1.0}}


@pytest.fixture
def fake(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_ZOO", str(tmp_path))
    counter = Counter()
    recipe = zoo.Recipe(
        build=counter.build,
        run=counter.run,
        modules=("helpers.metrics",),
        about="a test recipe",
    )
    monkeypatch.setitem(zoo.RECIPES, "fake", recipe)
    return counter


def test_load_trains_once_then_reads_the_cache(fake, tmp_path):
    models, info = zoo.load("fake", progress=False)
    assert fake.calls == 1 and zoo.path("fake").exists()
    assert zoo.path("fake").parent == tmp_path
    again, info_again = zoo.load("fake", progress=False)
    assert fake.calls == 1  # loaded, not trained
    assert info_again == info == {"accuracy": 0.5, "per_half": {"left": 1.0}}
    for name in models:
        torch.testing.assert_close(again[name].weight, models[name].weight.cpu())
        assert not again[name].training


def test_train_always_trains_and_refreshes_the_cache(fake):
    zoo.load("fake", progress=False)
    models, info = zoo.train("fake", progress=False, scale=2.0)
    assert fake.calls == 2 and info["accuracy"] == 1.0
    loaded, loaded_info = zoo.load("fake", progress=False)
    assert fake.calls == 2 and loaded_info["accuracy"] == 1.0
    torch.testing.assert_close(loaded["a"].weight, models["a"].weight.cpu())


def test_the_key_follows_the_code(fake, monkeypatch):
    before = zoo.key("fake")
    assert len(before) == 16 and before == zoo.key("fake")
    zoo.load("fake", progress=False)
    old_file = zoo.path("fake")
    changed = zoo.Recipe(
        build=fake.build, run=fake.run, modules=("helpers.tables",), about="other code"
    )
    monkeypatch.setitem(zoo.RECIPES, "fake", changed)
    assert zoo.key("fake") != before
    zoo.load("fake", progress=False)
    assert fake.calls == 2  # other code: trained again
    assert not old_file.exists()  # the stale entry is gone


def test_an_unreadable_entry_is_remade(fake):
    zoo.path("fake").parent.mkdir(parents=True, exist_ok=True)
    zoo.path("fake").write_bytes(b"not a torch file")
    models, _ = zoo.load("fake", progress=False)
    assert fake.calls == 1 and set(models) == {"a", "b"}


def test_unknown_recipe():
    with pytest.raises(ValueError, match="no recipe 'chapter9'"):
        zoo.load("chapter9")
    with pytest.raises(ValueError, match="chapter4-heads"):
        zoo.key("nope")


def test_the_course_recipes_are_keyed_and_build_their_models():
    from helpers.models import PooledCNN, ViT

    for name, recipe in zoo.RECIPES.items():
        assert len(zoo.key(name)) == 16 and recipe.about
    heads = zoo.RECIPES["chapter4-heads"].build()
    assert set(heads) == {"avg", "mask", "attention"}
    assert all(isinstance(m, PooledCNN) for m in heads.values())
    vit = zoo.RECIPES["chapter5-vit"].build()["learned"]
    none = zoo.RECIPES["chapter5-vit-none"].build()["none"]
    assert isinstance(vit, ViT) and vit.position == "learned" and vit.stem == "conv"
    assert isinstance(none, ViT) and none.position == "none" and none.stem == "conv"
    pixels = zoo.RECIPES["chapter6-pixels"].build()
    assert pixels["linear"].layers[0].out_features == 1 and len(pixels["mlp"].layers) == 3


def test_the_pixel_recipe_trains_and_measures_both_halves(monkeypatch, tmp_path):
    from helpers.compare import LEFT, RIGHT
    from helpers.scenes import make_scenes

    monkeypatch.setenv("COURSE_ZOO", str(tmp_path))
    data = {
        "train": make_scenes(64, region=LEFT, seed=1),
        "left": make_scenes(30, region=LEFT, seed=2),
        "right": make_scenes(30, region=RIGHT, seed=3),
    }
    monkeypatch.setattr(answer, "PIXEL_EPOCHS", 1)
    models, info = zoo.train("chapter6-pixels", progress=False, data=data)
    assert set(info["right"]) == {"linear", "mlp"} and info["seconds"] > 0
    assert 0 <= info["right"]["mlp"]["accuracy"] <= 1
    assert zoo.path("chapter6-pixels").exists()

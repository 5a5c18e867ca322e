"""helpers.zoo: a recipe's models, trained once, then loaded from the cache."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn

from helpers import zoo


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
    counter.recipe = zoo.Recipe(
        name="fake",
        build=counter.build,
        run=counter.run,
        modules=("helpers.metrics",),
        about="a test recipe",
    )
    return counter


def test_load_or_train_trains_once_then_reads_the_cache(fake, tmp_path):
    models, info = zoo.load_or_train(fake.recipe, progress=False)
    assert fake.calls == 1 and zoo.path(fake.recipe).exists()
    assert zoo.path(fake.recipe).parent == tmp_path
    again, info_again = zoo.load_or_train(fake.recipe, progress=False)
    assert fake.calls == 1  # loaded, not trained
    assert info_again == info == {"accuracy": 0.5, "per_half": {"left": 1.0}}
    for name in models:
        torch.testing.assert_close(again[name].weight, models[name].weight.cpu())
        assert not again[name].training


def test_load_or_train_gives_its_options_to_a_training_only(fake):
    models, info = zoo.load_or_train(fake.recipe, progress=False, scale=3.0)
    assert fake.calls == 1 and info["accuracy"] == 1.5  # trained with them
    again, info_again = zoo.load_or_train(fake.recipe, progress=False, scale=5.0)
    assert fake.calls == 1 and info_again["accuracy"] == 1.5  # loaded: not used


def test_train_and_store_always_trains_and_refreshes_the_cache(fake):
    zoo.load_or_train(fake.recipe, progress=False)
    models, info = zoo.train_and_store(fake.recipe, progress=False, scale=2.0)
    assert fake.calls == 2 and info["accuracy"] == 1.0
    loaded, loaded_info = zoo.load_or_train(fake.recipe, progress=False)
    assert fake.calls == 2 and loaded_info["accuracy"] == 1.0
    torch.testing.assert_close(loaded["a"].weight, models["a"].weight.cpu())


def test_the_key_follows_the_code(fake):
    before = zoo.key(fake.recipe)
    assert len(before) == 16 and before == zoo.key(fake.recipe)
    zoo.load_or_train(fake.recipe, progress=False)
    old_file = zoo.path(fake.recipe)
    changed = replace(fake.recipe, modules=("helpers.tables",), about="other code")
    assert zoo.key(changed) != before
    zoo.load_or_train(changed, progress=False)
    assert fake.calls == 2  # other code: trained again
    assert not old_file.exists()  # the stale entry is gone


def test_an_unreadable_entry_is_remade(fake):
    zoo.path(fake.recipe).parent.mkdir(parents=True, exist_ok=True)
    zoo.path(fake.recipe).write_bytes(b"not a torch file")
    models, _ = zoo.load_or_train(fake.recipe, progress=False)
    assert fake.calls == 1 and set(models) == {"a", "b"}


def test_only_recipes():
    with pytest.raises(TypeError, match="recipe must be a helpers.zoo.Recipe"):
        zoo.load_or_train("chapter4-heads")
    with pytest.raises(TypeError, match="got dict"):
        zoo.key({})


def test_the_cache_knows_no_recipe():
    # the recipes import the cache, never the other way round (no import cycle)
    source = Path(zoo.__file__).read_text()
    assert "helpers.recipes" not in source.replace("helpers.recipes.RECIPES", "")


def test_a_recipe_whose_name_starts_another_leaves_its_entry(fake):
    # chapter5-vit and chapter5-vit-none: storing the first must not remove the second
    longer = replace(fake.recipe, name="fake-none")
    zoo.load_or_train(longer, progress=False)
    zoo.train_and_store(fake.recipe, progress=False)
    assert zoo.path(longer).exists() and zoo.path(fake.recipe).exists()

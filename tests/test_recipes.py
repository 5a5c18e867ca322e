"""helpers.recipes: the course's shared models, each trained by one recipe."""

import pytest
import torch

from helpers import recipes, zoo
from helpers.answer import ROWS
from helpers.models import PooledCNN, ReadoutCNN, ViT
from helpers.pooling_heads import three_heads


def test_the_course_recipes_are_keyed_and_build_their_models():
    for name, recipe in recipes.RECIPES.items():
        assert recipe.name == name and recipe.about
        assert len(zoo.key(recipe)) == 16
    heads = recipes.RECIPES["chapter4-heads"].build()
    assert set(heads) == {"avg", "mask", "attention"}
    assert all(isinstance(m, PooledCNN) for m in heads.values())
    vit = recipes.RECIPES["chapter5-vit"].build()["learned"]
    none = recipes.RECIPES["chapter5-vit-none"].build()["none"]
    assert isinstance(vit, ViT) and vit.position == "learned" and vit.stem == "conv"
    assert isinstance(none, ViT) and none.position == "none" and none.stem == "conv"
    flatten = recipes.RECIPES["chapter6-flatten"].build()["flatten"]
    assert isinstance(flatten, ReadoutCNN) and flatten.readout == "flatten"
    gates = recipes.RECIPES["chapter6-gates"].build()
    assert set(gates) == {"attention", "cells", "channels"}
    assert len({id(m.backbone) for m in gates.values()}) == 1


def test_unknown_recipe():
    with pytest.raises(ValueError, match="no recipe 'chapter9'"):
        recipes.load_recipe("chapter9")
    with pytest.raises(ValueError, match="chapter4-heads"):
        recipes.train_recipe("nope")


@pytest.fixture(scope="module")
def halves():
    """A few scenes of each half, made once for the recipe tests (never changed)."""
    from helpers.left_right import LEFT, RIGHT
    from helpers.scenes import make_scenes

    return {
        "train": make_scenes(64, region=LEFT, seed=1),
        "left": make_scenes(30, region=LEFT, seed=2),
        "right": make_scenes(30, region=RIGHT, seed=3),
    }


def test_the_flatten_recipe_reads_chapter4s_backbone_frozen(monkeypatch, tmp_path, halves):
    monkeypatch.setenv("COURSE_ZOO", str(tmp_path))
    data = halves
    torch.manual_seed(0)
    heads = {k: m.eval() for k, m in three_heads().items()}
    before = {k: v.clone() for k, v in heads["avg"].backbone.state_dict().items()}
    calls = []

    def fake_load(recipe, *, progress=True, **options):
        calls.append((recipe.name, options))
        return heads, {}

    monkeypatch.setattr(zoo, "load_or_train", fake_load)
    models, info = recipes.train_recipe("chapter6-flatten", progress=False, data=data)
    assert calls == [("chapter4-heads", {"data": data})]  # its scenes, if it trains
    model = models["flatten"]
    assert isinstance(model, ReadoutCNN) and model.backbone is not heads["avg"].backbone
    for name, value in model.backbone.state_dict().items():  # chapter 4's, unchanged
        torch.testing.assert_close(value, before[name])
        torch.testing.assert_close(heads["avg"].backbone.state_dict()[name], before[name])
    assert set(info["right"]) == {"flatten"} and info["seconds"] > 0
    assert 0 <= info["right"]["flatten"]["accuracy"] <= 1
    assert zoo.path(recipes.RECIPES["chapter6-flatten"]).exists()


def test_the_gates_recipe_reads_chapter4s_backbone_frozen(monkeypatch, tmp_path, halves):
    monkeypatch.setenv("COURSE_ZOO", str(tmp_path))
    data = halves
    torch.manual_seed(0)
    heads = {k: m.eval() for k, m in three_heads().items()}
    before = {k: v.clone() for k, v in heads["avg"].backbone.state_dict().items()}
    monkeypatch.setattr(zoo, "load_or_train", lambda recipe, **_: (heads, {}))
    models, info = recipes.train_recipe("chapter6-gates", progress=False, data=data)
    assert set(models) == {"attention", "cells", "channels"}
    for name, value in models["cells"].backbone.state_dict().items():
        torch.testing.assert_close(value, before[name])
    assert set(info["share"]) == set(models)
    assert zoo.path(recipes.RECIPES["chapter6-gates"]).exists()


def test_the_recipes_scenes_are_fingerprinted_and_other_scenes_refused(halves):
    from helpers.left_right import position_data

    assert recipes.scenes_fingerprint(position_data(0)) == recipes.POSITION_DATA_0
    assert recipes.scenes_fingerprint(halves) != recipes.POSITION_DATA_0
    moved = dict(halves, right=halves["left"])  # same sizes, other scenes
    assert recipes.scenes_fingerprint(moved) != recipes.scenes_fingerprint(halves)
    with pytest.raises(ValueError, match="not the scenes of"):
        recipes.load_recipe("chapter4-heads", data=halves)
    with pytest.raises(ValueError, match="'train', 'left' and 'right'"):
        recipes.load_recipe("chapter4-heads", data={"train": halves["train"]})
    with pytest.raises(TypeError, match="dict of helpers.scenes.Scenes"):
        recipes.scenes_fingerprint({"train": halves["train"].images})


def test_course_models_come_from_the_cache(monkeypatch, halves):
    torch.manual_seed(0)
    built = {
        "chapter4-heads": three_heads(),
        "chapter5-vit": {"learned": ViT().eval()},
        "chapter6-flatten": {"flatten": ReadoutCNN("flatten").eval()},
    }
    accuracy = {  # a different number for every model and half
        name: {"left": 0.7 + 0.01 * i, "right": 0.5 + 0.01 * i}
        for i, name in enumerate(["avg", "mask", "attention", "learned", "flatten"])
    }
    calls = []

    def fake_load(recipe, *, progress=True, **options):
        calls.append((recipe.name, progress, options.get("data")))
        models = built[recipe.name]
        info = {
            half: {n: {"accuracy": accuracy[n][half], "loss": 0.3} for n in models}
            for half in ("left", "right")
        }
        info["seconds"] = 1.0
        return models, info

    monkeypatch.setattr(zoo, "load_or_train", fake_load)
    models, acc = recipes.course_models(progress=False)
    assert sorted(calls) == [
        ("chapter4-heads", False, None),
        ("chapter5-vit", False, None),
        ("chapter6-flatten", False, None),
    ]
    calls.clear()
    # the scenes are checked, then handed on to any recipe that trains
    monkeypatch.setattr(recipes, "POSITION_DATA_0", recipes.scenes_fingerprint(halves))
    recipes.course_models(progress=False, data=halves)
    assert [data for _, _, data in calls] == [halves] * 3
    assert list(models) == list(ROWS) and list(acc) == list(ROWS)
    for key in ("avg", "mask", "attention"):
        assert models[key] is built["chapter4-heads"][key]
    assert models["vit"] is built["chapter5-vit"]["learned"]
    assert models["flatten"] is built["chapter6-flatten"]["flatten"]
    source = {k: k for k in ROWS} | {"vit": "learned"}
    for key in ROWS:
        assert acc[key] == {
            "left": pytest.approx(accuracy[source[key]]["left"]),
            "right": pytest.approx(accuracy[source[key]]["right"]),
        }
        assert all(type(v) is float for v in acc[key].values())

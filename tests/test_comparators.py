"""helpers.comparators, helpers.models.ReadoutCNN and helpers.train.fit's frozen part."""

import copy

import numpy as np
import pytest
import torch

from helpers import train
from helpers.comparators import (
    COMPARATORS,
    CONTROLS,
    backbone_controls,
    comparator_experiment,
    comparator_heads,
    flatten_on_backbone,
    head_parameters,
    measure_readouts,
    shift_invariance,
)
from helpers.left_right import position_data
from helpers.models import Backbone, PooledCNN, ReadoutCNN
from helpers.scenes import make_scenes
from helpers.train import fit


@pytest.fixture(scope="module")
def tiny():
    return position_data(seed=0, n_train=96, n_test=40)


def test_readouts_give_one_logit_per_image():
    images = torch.rand(5, 3, 48, 48)
    for readout in ("flatten", "max"):
        model = ReadoutCNN(readout).eval()
        assert model(images).shape == (5,)
        assert model.logits_from_features(model.backbone(images)).shape == (5, 1)
    with pytest.raises(ValueError, match="readout must be one of"):
        ReadoutCNN("mean")
    with pytest.raises(ValueError, match="built for"):
        ReadoutCNN("flatten")(torch.rand(2, 3, 40, 40))
    with pytest.raises(ValueError, match="multiple of 8"):
        ReadoutCNN("max", size=50)


def test_max_readout_is_the_largest_value_of_each_channel():
    model = ReadoutCNN("max").eval()
    f = torch.randn(3, 64, 6, 6)
    expected = model.classifier(f.flatten(2).max(dim=2).values)
    torch.testing.assert_close(model.logits_from_features(f), expected)


def test_five_heads_share_one_backbone_and_count_their_own_numbers():
    heads = comparator_heads()
    assert list(heads) == list(COMPARATORS)
    assert len({id(m.backbone) for m in heads.values()}) == 1
    counts = {n: head_parameters(m) for n, m in heads.items()}
    assert counts == {
        "flatten": 64 * 36 + 1,
        "max": 64 + 1,
        "avg": 64 + 1,
        "mask": 36 + 64 + 1,
        "attention": (64 * 32 + 32) + (64 * 64 + 64) + 32 + 64 + 1,
    }
    with pytest.raises(TypeError, match="backbone"):
        head_parameters(torch.nn.Linear(2, 1))


def test_position_blind_readouts_are_invariant_to_a_whole_cell_roll():
    heads = comparator_heads()
    torch.manual_seed(0)
    with torch.no_grad():
        heads["mask"].mask_logits.normal_(0.0, 1.0)  # at zero the mask is uniform
    images = make_scenes(6, seed=1).images
    change = shift_invariance(heads, images)
    for blind in ("max", "avg", "attention"):
        assert change[blind] < 1e-6, (blind, change)
    for tied in ("flatten", "mask"):
        assert change[tied] > 1e-5, (tied, change)
    with pytest.raises(ValueError, match="float images"):
        shift_invariance(heads, images[0])


def test_fit_keeps_a_frozen_backbone_as_it_was(tiny):
    avg = PooledCNN("avg")
    fit(avg, tiny["train"], epochs=1, seed=0, progress=False)
    before = {k: v.clone() for k, v in avg.backbone.state_dict().items()}
    head = PooledCNN("attention", backbone=avg.backbone)
    start = head.key.weight.detach().clone()
    fit(head, tiny["train"], epochs=1, seed=1, progress=False, frozen=avg.backbone)
    for k, v in avg.backbone.state_dict().items():
        assert torch.equal(v, before[k]), k  # weights and BatchNorm statistics
    assert not torch.equal(head.key.weight, start)
    with pytest.raises(ValueError, match="part of the model"):
        fit(head, tiny["train"], epochs=1, seed=0, progress=False, frozen=Backbone())


class _Through(torch.nn.Module):
    """A head behind a wrapper that only has ``forward``: fit runs the frozen backbone
    at every step for it (no features made once)."""

    def __init__(self, head: torch.nn.Module):
        super().__init__()
        self.head = head

    def forward(self, images):
        return self.head(images)


def test_a_frozen_backbones_features_are_made_once_and_train_the_same(tiny, monkeypatch):
    monkeypatch.setattr(train, "_FEATURE_CHUNK", 40)  # 96 scenes: three chunks
    torch.manual_seed(0)
    backbone = Backbone().eval()
    calls = []
    backbone.register_forward_hook(lambda *_: calls.append(1))
    trained = {}
    for how in ("once", "every step"):
        head = ReadoutCNN("flatten", backbone=copy.deepcopy(backbone))
        model = head if how == "once" else _Through(head)
        calls.clear()
        fit(model, tiny["train"], epochs=2, seed=3, progress=False, frozen=head.backbone)
        trained[how] = (len(calls), head.classifier.weight.detach().clone())
    assert trained["once"][0] == 3  # 40 + 40 + 16 scenes, before the first epoch
    assert trained["every step"][0] == 2 * 2  # two batches of 64 in each epoch
    torch.testing.assert_close(trained["once"][1], trained["every step"][1])


def test_measure_readouts_counts_what_each_model_says(tiny):
    heads = comparator_heads()
    got = measure_readouts(heads, tiny["left"])
    assert set(got) == set(COMPARATORS)
    for row in got.values():
        assert set(row) == {"accuracy", "recall", "false_alarm"}
        assert all(0.0 <= v <= 1.0 for v in row.values())
    with pytest.raises(TypeError, match="Scenes"):
        measure_readouts(heads, tiny["left"].images)


def test_comparator_experiment_and_controls_report_every_model(tiny):
    models, result = comparator_experiment(
        0, data=tiny, epochs=1, bins=3, n_anywhere=120, progress=False
    )
    assert set(models) == set(COMPARATORS)
    assert set(result["left"]) == set(result["right"]) == set(COMPARATORS)
    assert len(result["by_position"]["centres"]) == 3
    assert all(len(r) == 3 for r in result["by_position"]["recall"].values())
    assert result["head_parameters"]["flatten"] == 64 * 36 + 1
    controls = backbone_controls(0, data=tiny, epochs=1, progress=False)
    assert (
        list(controls)
        == list(CONTROLS)
        == [
            "avg",
            "attention on avg's backbone",
            "avg on untrained",
            "attention on untrained",
        ]
    )
    assert all(set(c) == {"left", "right"} for c in controls.values())
    assert np.isfinite([c["right"]["accuracy"] for c in controls.values()]).all()


def test_tables_read_every_committed_seed():
    from helpers.comparators import controls_table, readout_over_seeds, readouts_table
    from helpers.results import load

    committed = load("comparators")
    flatten = readout_over_seeds(committed, "readouts", "flatten", "right", "recall")
    assert len(flatten) == len(committed["seeds"]) == 3
    assert [r[0] for r in readouts_table(committed).rows] == list(COMPARATORS.values())
    assert [r[0] for r in controls_table(committed).rows] == list(CONTROLS.values())
    with pytest.raises(ValueError, match="part"):
        readout_over_seeds(committed, "heads", "flatten", "right", "recall")
    with pytest.raises(ValueError, match="unknown half"):
        readout_over_seeds(committed, "readouts", "flatten", "top", "recall")


def test_a_frozen_part_gets_no_gradient_and_its_flags_come_back(tiny):
    avg = PooledCNN("avg")
    seen = []

    def record(epoch):
        seen.append(any(p.requires_grad for p in avg.backbone.parameters()))

    fit(
        avg,
        tiny["train"],
        epochs=1,
        seed=0,
        progress=False,
        frozen=avg.backbone,
        on_epoch=record,
    )
    assert seen == [False, False]  # off during training
    assert all(p.requires_grad for p in avg.backbone.parameters())  # back after
    assert all(p.grad is None for p in avg.backbone.parameters())


def test_flatten_on_backbone_trains_only_its_readout(tiny):
    torch.manual_seed(0)
    backbone = Backbone().eval()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    model, info = flatten_on_backbone(backbone, 0, data=tiny, epochs=1, progress=False)
    assert isinstance(model, ReadoutCNN) and model.readout == "flatten"
    assert model.backbone is not backbone  # a copy: the given one is left alone
    for name, value in before.items():
        torch.testing.assert_close(backbone.state_dict()[name], value)
        torch.testing.assert_close(model.backbone.state_dict()[name], value)
    assert set(info) == {"left", "right", "seconds"} and info["seconds"] > 0
    for half in ("left", "right"):
        assert set(info[half]) == {"flatten"}
        assert set(info[half]["flatten"]) == {"accuracy", "recall", "false_alarm"}
    with pytest.raises(TypeError, match="Backbone"):
        flatten_on_backbone(PooledCNN("avg"), 0, data=tiny)

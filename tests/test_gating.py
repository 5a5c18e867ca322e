"""helpers.gating: weights computed from the input without a softmax over the cells."""

import math

import numpy as np
import pytest
import torch

from helpers.gating import GATED_HEADS, GatedCNN, gate_share, gates_on_backbone
from helpers.left_right import position_data
from helpers.models import Backbone, PooledCNN


@pytest.fixture(scope="module")
def tiny():
    return position_data(seed=0, n_train=96, n_test=40)


def test_cell_gates_are_a_sigmoid_of_attentions_scores_written_out():
    torch.manual_seed(0)
    model = GatedCNN("cells").eval()
    images = torch.rand(3, 3, 48, 48)
    with torch.no_grad():
        f = model.backbone(images)
        keys = model.key(f).flatten(2)  # (N, d, 36)
        scores = (model.query[None, :, None] * keys).sum(1) / math.sqrt(keys.shape[1])
        gates = torch.sigmoid(scores)
        values = model.value(f).flatten(2)  # (N, C, 36)
        pooled = (gates[:, None] * values).sum(-1) / 36
        logits = model.classifier(pooled)[:, 0]
    torch.testing.assert_close(model.gates(images), gates.view(3, 6, 6))
    torch.testing.assert_close(model(images), logits)
    torch.testing.assert_close(model.pool_weights(images), gates.view(3, 6, 6) / 36)


def test_channel_gates_are_squeeze_and_excitation_then_average():
    torch.manual_seed(1)
    model = GatedCNN("channels").eval()
    images = torch.rand(3, 3, 48, 48)
    with torch.no_grad():
        m = model.backbone(images).mean(dim=(2, 3))
        s = torch.sigmoid(model.excite(torch.relu(model.squeeze(m))))
        logits = model.classifier(s * m)[:, 0]
    torch.testing.assert_close(model.gates(images), s)
    torch.testing.assert_close(model(images), logits)
    torch.testing.assert_close(model.pool_weights(images), torch.full((3, 6, 6), 1 / 36))


def test_cell_gates_are_not_normalised_but_attention_is():
    torch.manual_seed(2)
    images = torch.rand(8, 3, 48, 48)
    gated = GatedCNN("cells").eval()
    sums = gated.pool_weights(images).sum(dim=(1, 2))
    assert ((sums > 0) & (sums < 1)).all()  # each gate in (0, 1), averaged
    assert sums.std() > 0  # the total changes with the image
    attention = PooledCNN("attention", backbone=gated.backbone).eval()
    torch.testing.assert_close(
        attention.pool_weights(images).sum(dim=(1, 2)), torch.ones(8)
    )


def test_gate_share_divides_by_the_total():
    masks = np.zeros((2, 48, 48), bool)
    masks[:, :8, :8] = True  # the top-left cell
    w = np.full((2, 6, 6), 0.5)
    np.testing.assert_allclose(gate_share(w, masks), [1 / 36, 1 / 36])
    w[1, 0, 0] = 17.5  # half the total on the bird's cell
    assert gate_share(w, masks)[1] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="non-negative"):
        gate_share(-w, masks)
    with pytest.raises(ValueError, match="bool"):
        gate_share(w, masks.astype(int))
    with pytest.raises(ValueError, match="some weight"):
        gate_share(np.zeros((2, 6, 6)), masks)


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="gate must be one of"):
        GatedCNN("pixels")
    with pytest.raises(ValueError, match="multiple of 8"):
        GatedCNN(size=50)
    model = GatedCNN()
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        model(torch.rand(3, 48, 48))
    with pytest.raises(ValueError, match="built for"):
        model.logits_from_features(torch.rand(2, 64, 5, 5))
    with pytest.raises(TypeError, match="Backbone"):
        gates_on_backbone(PooledCNN("avg"), 0)


def test_gates_on_backbone_trains_only_the_heads(tiny):
    torch.manual_seed(0)
    backbone = Backbone().eval()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    heads, info = gates_on_backbone(backbone, 0, data=tiny, epochs=1, progress=False)
    assert set(heads) == set(GATED_HEADS)
    shared = heads["attention"].backbone
    assert shared is not backbone and all(h.backbone is shared for h in heads.values())
    for name, value in before.items():  # neither the given nor the copy changed
        torch.testing.assert_close(backbone.state_dict()[name], value)
        torch.testing.assert_close(shared.state_dict()[name], value)
    assert set(info) == {"left", "right", "share", "sum", "flat", "seconds"}
    for key in GATED_HEADS:
        assert set(info["right"][key]) == {"accuracy", "recall", "false_alarm"}
        assert 0 <= info["share"][key] <= 1
    assert info["sum"]["attention"] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert info["sum"]["channels"] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert info["share"]["channels"] == pytest.approx(info["flat"])

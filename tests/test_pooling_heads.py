import numpy as np
import pytest
import torch

from helpers.left_right import position_data
from helpers.pooling_heads import (
    bird_and_leaf_targets,
    outputs,
    position_experiment,
    query_masses,
    three_heads,
)
from helpers.train import predict_logits


@pytest.fixture(scope="module")
def tiny():
    return position_data(seed=0, n_train=160, n_test=80)


def test_three_heads_share_or_not():
    shared = three_heads()
    assert shared["avg"].backbone is shared["mask"].backbone is shared["attention"].backbone
    assert shared["attention"].n_queries == 2
    apart = three_heads(separate=True, padding="zeros")
    assert apart["avg"].backbone is not apart["mask"].backbone


def test_position_data_halves(tiny):
    for name, limit in (("train", (0, 0.5)), ("left", (0, 0.5)), ("right", (0.5, 1))):
        c = tiny[name].centers[tiny[name].labels == 1, 1]
        assert ((c >= limit[0] - 0.03) & (c <= limit[1] + 0.03)).all(), name
    assert not np.array_equal(tiny["train"].images[:80], tiny["left"].images)


def test_targets(tiny):
    t = bird_and_leaf_targets(tiny["train"])
    assert t.shape == (160, 2) and set(np.unique(t)) <= {0, 1}
    np.testing.assert_array_equal(t[:, 0], tiny["train"].labels)


def test_position_experiment_reports_every_head(tiny):
    heads, result = position_experiment(0, data=tiny, epochs=1, progress=False)
    for half in ("left", "right"):
        assert set(result[half]) == {"avg", "mask", "attention"}
        for metrics in result[half].values():
            assert set(metrics) == {"accuracy", "recall", "false_alarm", "mass", "flat"}
            assert all(0.0 <= v <= 1.0 for v in metrics.values())
    # the average head's mass is exactly the flat baseline: it has no position weights
    avg = result["left"]["avg"]
    assert avg["mass"] == pytest.approx(avg["flat"])
    q = result["queries"]
    assert q["scenes"] > 0 and 0 <= q["leaf_query_on_leaves"] <= 1
    with pytest.raises(ValueError, match="no scene holds both"):
        query_masses(heads["attention"], tiny["left"][tiny["left"].labels == 0])


def test_outputs_run_a_shared_backbone_once_per_batch_and_match_each_model(tiny):
    heads = three_heads()
    for m in heads.values():
        m.train()  # outputs must switch to eval mode and back
    calls = []
    heads["avg"].backbone.register_forward_hook(lambda *_: calls.append(1))
    images = torch.from_numpy(tiny["left"].images)
    got = outputs(heads, images, batch_size=32)
    assert len(calls) == 3  # 80 images in batches of 32, one pass for three heads
    assert all(m.training for m in heads.values())
    for name, m in heads.items():
        logits, weights = got[name]
        assert logits.shape == (80,) and weights.shape == (80, 6, 6)
        np.testing.assert_allclose(logits, predict_logits(m, images), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(weights, m.pool_weights(images).numpy(), atol=1e-6)


def test_outputs_of_no_images_are_empty():
    heads = three_heads()
    got = outputs(heads, torch.zeros(0, 3, 48, 48))
    assert {name: (g[0].shape, g[1].shape) for name, g in got.items()} == {
        name: ((0,), (0, 6, 6)) for name in heads
    }


def test_outputs_check_the_image_size():
    with pytest.raises(ValueError, match="grid"):
        outputs(three_heads(), torch.zeros(2, 3, 40, 40))

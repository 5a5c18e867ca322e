import numpy as np
import pytest
import torch

from helpers.metrics import attention_mass, flat_mass, region_cells
from helpers.models import POOLS, Backbone, PooledCNN
from helpers.scenes import make_scenes, render_scene
from helpers.train import accuracy, evaluate, fit, one_cycle, predict_logits


@pytest.fixture(scope="module")
def small():
    return make_scenes(128, seed=3, distractors=(1, 3))


@pytest.mark.parametrize("pool", POOLS)
def test_shapes_and_weights_sum_to_one(pool, small):
    torch.manual_seed(0)
    model = PooledCNN(pool).eval()
    x = torch.from_numpy(small.images[:5])
    assert model(x).shape == (5,)
    w = model.pool_weights(x)
    assert w.shape == (5, 6, 6)
    torch.testing.assert_close(w.sum((1, 2)), torch.ones(5))
    assert (w >= 0).all()


def test_what_depends_on_the_image(small):
    torch.manual_seed(0)
    x = torch.from_numpy(small.images[:4])
    avg = PooledCNN("avg").pool_weights(x)
    assert torch.allclose(avg, torch.full_like(avg, 1 / 36))
    mask_model = PooledCNN("mask")
    with torch.no_grad():
        mask_model.mask_logits.normal_()
    m = mask_model.pool_weights(x)
    assert torch.allclose(m, m[:1].expand_as(m))  # one map for every image
    a = PooledCNN("attention").pool_weights(x)
    assert not torch.allclose(a[0], a[1])  # computed from each image


def test_backbone_is_translation_equivariant_with_circular_padding():
    torch.manual_seed(0)
    backbone = Backbone().eval()
    x = torch.from_numpy(render_scene((0.5, 0.3), distractors=3, seed=1).images)
    shifted = torch.roll(x, shifts=16, dims=-1)  # 16 px = 2 grid cells
    with torch.no_grad():
        f, g = backbone(x), backbone(shifted)
    torch.testing.assert_close(torch.roll(f, shifts=2, dims=-1), g, atol=1e-5, rtol=1e-5)
    zeros = Backbone(padding="zeros").eval()
    with torch.no_grad():
        f, g = zeros(x), zeros(shifted)
    assert not torch.allclose(torch.roll(f, shifts=2, dims=-1), g, atol=1e-3)


def test_attention_map_moves_with_the_image():
    """Shift the image by whole cells: the attention map shifts with it."""
    torch.manual_seed(0)
    model = PooledCNN("attention").eval()
    x = torch.from_numpy(render_scene((0.5, 0.3), distractors=3, seed=1).images)
    w = model.pool_weights(x)
    w_shifted = model.pool_weights(torch.roll(x, shifts=16, dims=-1))
    torch.testing.assert_close(
        torch.roll(w, shifts=2, dims=-1), w_shifted, atol=1e-5, rtol=1e-4
    )


def test_multi_query_attention(small):
    torch.manual_seed(0)
    model = PooledCNN("attention", queries=2).eval()
    x = torch.from_numpy(small.images[:3])
    assert model.logits_all(x).shape == (3, 2)
    w0, w1 = model.pool_weights(x, query=0), model.pool_weights(x, query=1)
    assert not torch.allclose(w0, w1)
    with pytest.raises(ValueError, match=r"query must be an int in \[0, 2\)"):
        model.pool_weights(x, query=2)


def test_bad_model_arguments():
    with pytest.raises(ValueError, match="pool must be one of"):
        PooledCNN("max")
    with pytest.raises(ValueError, match="queries must be 1"):
        PooledCNN("avg", queries=2)
    with pytest.raises(ValueError, match='padding must be "circular" or "zeros"'):
        Backbone(padding="reflect")
    model = PooledCNN("avg")
    with pytest.raises(TypeError, match="torch.from_numpy"):
        model(np.zeros((1, 3, 48, 48), np.float32))
    with pytest.raises(ValueError, match=r"shape \(N, 3, H, W\)"):
        model(torch.zeros(1, 48, 48))
    with pytest.raises(ValueError, match="built for"):
        model(torch.zeros(1, 3, 32, 32))


def test_fit_is_deterministic_and_learns(small):
    a, b = PooledCNN("attention"), PooledCNN("attention")
    ha = fit(a, small, epochs=2, seed=5, progress=False)
    hb = fit(b, small, epochs=2, seed=5, progress=False)
    assert ha.loss == hb.loss and len(ha.loss) == 2
    x = torch.from_numpy(small.images[:8])
    torch.testing.assert_close(a(x), b(x))
    assert not a.training  # fit leaves the model ready to evaluate
    assert ha.loss[1] < ha.loss[0]


def test_fit_with_sgd_momentum_learns_and_differs_from_adamw(small):
    sgd, adamw = PooledCNN("attention"), PooledCNN("attention")
    h_sgd = fit(sgd, small, epochs=2, seed=5, progress=False, optimizer="sgd", lr=0.05)
    fit(adamw, small, epochs=2, seed=5, progress=False)
    assert h_sgd.loss[1] < h_sgd.loss[0]
    x = torch.from_numpy(small.images[:8])
    assert not torch.allclose(sgd(x), adamw(x))  # another optimiser, other weights
    with pytest.raises(ValueError, match="optimizer must be one of"):
        fit(sgd, small, optimizer="adam")


def test_fit_shared_backbone_trains_every_head(small):
    backbone = Backbone()
    heads = {p: PooledCNN(p, backbone=backbone) for p in POOLS}
    before = heads["mask"].mask_logits.detach().clone()
    fit(heads, small, epochs=1, seed=0, progress=False)
    assert heads["avg"].backbone is heads["attention"].backbone
    assert not torch.equal(before, heads["mask"].mask_logits)
    assert all(
        np.isfinite(predict_logits(m, small.images[:4])).all() for m in heads.values()
    )


def test_fit_calls_on_epoch(small):
    seen = []
    fit(
        PooledCNN("avg"), small[:32], epochs=3, seed=0, progress=False, on_epoch=seen.append
    )
    assert seen == [0, 1, 2, 3]  # 0: the initial weights, before training


def test_fit_rejects_bad_input(small):
    model = PooledCNN("avg")
    with pytest.raises(TypeError, match="Scenes"):
        fit(model, small.images)
    with pytest.raises(ValueError, match="epochs must be an int >= 1"):
        fit(model, small, epochs=0)
    with pytest.raises(ValueError, match="lr must be a positive number"):
        fit(model, small, lr=-1)
    with pytest.raises(ValueError, match=r"targets must be 0/1 of shape \(128, Q\)"):
        fit(model, small, targets=np.ones(128))
    with pytest.raises(ValueError, match="empty"):
        fit(model, small[:0])


def test_evaluate_counts_recall_and_false_alarms(small):
    class SaysBird(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(()))

        def forward(self, x):
            return self.w * torch.ones(len(x))

    result = evaluate(SaysBird(), small)
    assert result == {"accuracy": 0.5, "recall": 1.0, "false_alarm": 1.0}
    assert accuracy(SaysBird(), small) == 0.5


def test_attention_mass():
    masks = np.zeros((2, 48, 48), bool)
    masks[0, 0:8, 0:8] = True  # exactly the top-left cell
    masks[1, 4:12, 4:12] = True  # touches four cells
    uniform = np.full((2, 6, 6), 1 / 36)
    np.testing.assert_allclose(attention_mass(uniform, masks), [1 / 36, 4 / 36])
    np.testing.assert_allclose(flat_mass(masks, (6, 6)), [1 / 36, 4 / 36])
    peaked = np.zeros((2, 6, 6))
    peaked[:, 0, 0] = 1.0
    np.testing.assert_allclose(attention_mass(torch.from_numpy(peaked), masks), [1.0, 1.0])
    assert region_cells(masks, (6, 6))[1].sum() == 4
    with pytest.raises(ValueError, match="sum to 1"):
        attention_mass(np.ones((2, 6, 6)), masks)
    with pytest.raises(ValueError, match="does not cut into a 5x5 grid"):
        region_cells(masks, (5, 5))


@pytest.mark.parametrize("total", [1, 2, 7, 100])
def test_one_cycle_schedule_spans_the_budget(total):
    f = one_cycle(total)
    factors = [f(step) for step in range(total)]
    assert max(factors) == pytest.approx(1.0)
    assert all(0 < x <= 1 for x in factors)
    if total > 1:
        assert factors[-1] < factors[len(factors) // 2] or total < 4
    assert f(total) == pytest.approx(0.0, abs=1e-12) or total == 1


def test_initial_weights_are_where_fit_starts(small):
    from helpers.models import MLP
    from helpers.train import initial_weights

    model = MLP((8,))
    seen = {}

    def record(epoch):
        if epoch == 0:
            seen.update({k: v.clone() for k, v in model.state_dict().items()})

    fit(model, small[:32], epochs=1, seed=3, on_epoch=record, progress=False)
    start = initial_weights(model, 3)
    for name, value in start.state_dict().items():
        torch.testing.assert_close(value, seen[name])
    assert not torch.equal(start.layers[0].weight, model.layers[0].weight)  # a copy
    with pytest.raises(TypeError):
        initial_weights("model", 3)

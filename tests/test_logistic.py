import numpy as np
import pytest
import torch

from helpers.autograd import Tensor
from helpers.logistic import (
    CENTRED,
    bce_with_logits,
    centred_scenes,
    features,
    logistic_loss,
    loss_at,
    predict,
    train_logistic,
)
from helpers.optim import minibatches


@pytest.fixture(scope="module")
def data():
    s = centred_scenes(400, seed=3)
    X = features(s.images)
    return X - X.mean(0), s.labels


def test_centred_scenes_follow_the_settings():
    s = centred_scenes(50, seed=1)
    assert s.images.shape == (50, 3, CENTRED["size"], CENTRED["size"])
    c = s.centers[s.labels == 1]
    assert np.all((c > 0.38) & (c < 0.62))  # centres inside the central region (+ 1 px)
    anywhere = centred_scenes(50, seed=1, region=(0, 1, 0, 1))
    assert not np.array_equal(anywhere.images, s.images)


def test_features_flattens_and_checks():
    img = np.zeros((2, 3, 4, 4), np.float32)
    assert features(img).shape == (2, 48) and features(img).dtype == np.float64
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        features(np.zeros((2, 4, 4)))
    with pytest.raises(TypeError, match="floats"):
        features(np.zeros((2, 3, 4, 4), np.uint8))


@pytest.mark.parametrize("scale", [1.0, 50.0])
def test_bce_equals_torch_even_for_large_logits(scale):
    rng = np.random.default_rng(0)
    z = rng.normal(size=20) * scale
    y = rng.integers(0, 2, size=20)
    zt = Tensor(z)
    loss = bce_with_logits(zt, y)
    loss.backward()
    ref = torch.tensor(z, requires_grad=True)
    tl = torch.nn.functional.binary_cross_entropy_with_logits(ref, torch.tensor(y * 1.0))
    tl.backward()
    assert loss.item() == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(zt.grad, ref.grad.numpy(), atol=1e-12)


def test_bce_rejects_bad_input():
    with pytest.raises(ValueError, match="same shape"):
        bce_with_logits(Tensor(np.zeros(3)), np.zeros(4))
    with pytest.raises(ValueError, match="0/1"):
        bce_with_logits(Tensor(np.zeros(3)), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match=r"\(N, 5\)"):
        logistic_loss(Tensor(np.zeros(5)), Tensor(0.0), np.zeros((3, 4)), np.zeros(3))


def test_training_equals_torch_sgd(data):
    X, y = data
    run = train_logistic(X, y, lr=0.1, batch_size=32, epochs=2, seed=5, progress=False)
    lin = torch.nn.Linear(X.shape[1], 1).double()
    torch.nn.init.zeros_(lin.weight)
    torch.nn.init.zeros_(lin.bias)
    opt = torch.optim.SGD(lin.parameters(), lr=0.1)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y * 1.0)
    losses = []
    for epoch in range(2):
        for idx in minibatches(len(X), 32, seed=5 + epoch):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                lin(Xt[idx])[:, 0], yt[idx]
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    np.testing.assert_allclose(run.w, lin.weight.detach().numpy()[0], atol=1e-10)
    np.testing.assert_allclose(run.losses, losses, rtol=1e-10)
    assert run.b == pytest.approx(lin.bias.item(), abs=1e-10)


def test_training_learns_and_is_deterministic(data):
    X, y = data
    a = train_logistic(
        X, y, lr=0.1, batch_size=32, epochs=5, snapshot_every=13, progress=False
    )
    b = train_logistic(
        X, y, lr=0.1, batch_size=32, epochs=5, snapshot_every=13, progress=False
    )
    np.testing.assert_array_equal(a.w, b.w)
    assert (predict(a, X) == y).mean() > 0.65  # above chance (0.5) on its training set
    assert a.losses[-20:].mean() < a.losses[:5].mean()
    steps = sorted(a.snapshots)
    assert steps[0] == 0 and steps[-1] == len(a.losses) and 13 in steps
    assert not a.snapshots[0][0].any() and a.snapshots[0][1] == 0  # starts from zeros
    np.testing.assert_array_equal(a.snapshots[steps[-1]][0], a.w)
    assert loss_at(a, 0, X, y) == pytest.approx(np.log(2))
    assert loss_at(a, steps[-1], X, y) < loss_at(a, 13, X, y)
    with pytest.raises(ValueError, match="snapshots"):
        loss_at(a, 1, X, y)
    c = train_logistic(
        X, y, lr=0.1, batch_size=32, epochs=1, snapshot_steps=(1, 5), progress=False
    )
    assert sorted(c.snapshots) == [0, 1, 5, len(c.losses)]


def test_training_rejects_bad_arguments(data):
    X, y = data
    with pytest.raises(ValueError, match="epochs"):
        train_logistic(X, y, lr=0.1, batch_size=8, epochs=0)
    with pytest.raises(ValueError, match="batch_size"):
        train_logistic(X, y, lr=0.1, batch_size=0, epochs=1)
    with pytest.raises(ValueError, match="one row per label"):
        train_logistic(X, y[:-1], lr=0.1, batch_size=8, epochs=1)
    with pytest.raises(ValueError, match="lr"):
        train_logistic(X, y, lr=-1.0, batch_size=8, epochs=1)
    with pytest.raises(ValueError, match=r"\(N, "):
        predict(
            train_logistic(X[:8], y[:8], lr=0.1, batch_size=8, epochs=1, progress=False),
            X[:, :5],
        )

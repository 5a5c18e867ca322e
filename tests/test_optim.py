import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers.autograd import Tensor
from helpers.optim import SGD, minibatches


def _data(n=23, d=5, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) > 0).astype(np.float64)
    return X, y, 0.1 * rng.normal(size=d), np.array(0.05)


@pytest.mark.parametrize(("lr", "batch_size"), [(0.5, 6), (0.05, 1), (1.0, 100)])
def test_sgd_equals_torch_step_by_step(lr, batch_size):
    """Logistic regression trained by our autograd + SGD and by torch.autograd +
    torch.optim.SGD: same init, data and minibatch order give the same weights."""
    X, y, w0, b0 = _data()
    w, b = Tensor(w0), Tensor(b0)
    opt = SGD([w, b], lr=lr)
    tw = torch.tensor(w0, requires_grad=True)
    tb = torch.tensor(b0, requires_grad=True)
    topt = torch.optim.SGD([tw, tb], lr=lr)
    steps = 0
    for epoch in range(3):
        for idx in minibatches(len(X), batch_size, seed=epoch):
            p = (X[idx] @ w + b).sigmoid()
            loss = -(y[idx] * p.log() + (1 - y[idx]) * (1 - p).log()).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()

            z = torch.from_numpy(X[idx]) @ tw + tb
            t_loss = torch.nn.functional.binary_cross_entropy_with_logits(
                z, torch.from_numpy(y[idx])
            )
            topt.zero_grad()
            t_loss.backward()
            topt.step()

            assert abs(loss.item() - t_loss.item()) < 1e-12
            np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=0, atol=1e-12)
            np.testing.assert_allclose(b.data, tb.detach().numpy(), rtol=0, atol=1e-12)
            steps += 1
    assert steps == 3 * -(-len(X) // batch_size)
    assert not np.allclose(w.data, w0)  # the weights did move


def test_step_is_w_minus_lr_times_grad_and_keeps_the_gradient():
    w = Tensor([1.0, -2.0])
    w.grad = np.array([0.5, 4.0])
    opt = SGD([w], lr=0.1)
    opt.step()
    np.testing.assert_allclose(w.data, [0.95, -2.4], rtol=0, atol=1e-15)
    np.testing.assert_array_equal(w.grad, [0.5, 4.0])  # step uses the gradient, no reset
    opt.zero_grad()
    np.testing.assert_array_equal(w.grad, [0.0, 0.0])
    opt.step()  # no gradient, no move: backprop computes it, SGD only uses it
    np.testing.assert_allclose(w.data, [0.95, -2.4], rtol=0, atol=1e-15)


def test_lr_can_be_changed_between_steps():
    w = Tensor(1.0)
    opt = SGD([w], lr=0.1)
    w.grad = np.array(1.0)
    opt.step()
    opt.lr = 0.5
    opt.step()
    assert abs(w.item() - 0.4) < 1e-15
    assert repr(opt) == "SGD(lr=0.5, params=[()])"


@given(st.integers(1, 200), st.integers(1, 64), st.integers(0, 2**32))
def test_minibatches_cover_every_index_once(n, batch_size, seed):
    batches = list(minibatches(n, batch_size, seed=seed))
    assert len(batches) == -(-n // batch_size)
    assert all(b.dtype == np.int64 and b.ndim == 1 for b in batches)
    assert [len(b) for b in batches[:-1]] == [batch_size] * (len(batches) - 1)
    assert len(batches[-1]) == (n % batch_size or min(batch_size, n))
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(n))


def test_minibatches_are_deterministic_per_seed_and_shuffled():
    def epoch(seed):
        return np.concatenate(list(minibatches(50, 8, seed=seed)))

    np.testing.assert_array_equal(epoch(3), epoch(3))
    assert not np.array_equal(epoch(3), epoch(4))
    assert not np.array_equal(epoch(3), np.arange(50))  # shuffled, not in order
    (only,) = minibatches(5, 10, seed=0)  # batch larger than n: one full batch
    assert sorted(only.tolist()) == [0, 1, 2, 3, 4]
    assert [len(b) for b in minibatches(10, 4, seed=np.int64(1))] == [4, 4, 2]


@pytest.mark.parametrize(
    ("params", "lr", "error", "words"),
    [
        ([], 0.1, ValueError, "at least one parameter"),
        ([np.zeros(3)], 0.1, TypeError, "parameter 0 is a ndarray"),
        (["w"], 0.1, TypeError, "helpers.autograd.Tensor objects; parameter 0 is a str"),
        (None, 0.0, ValueError, "lr must be a positive number, got 0.0"),
        (None, -0.1, ValueError, "lr must be a positive number, got -0.1"),
        (None, float("inf"), ValueError, "lr must be a positive number, got inf"),
        (None, float("nan"), ValueError, "lr must be a positive number, got nan"),
        (None, "0.1", TypeError, "lr must be a positive number, got '0.1'"),
        (None, True, TypeError, "lr must be a positive number, got True"),
    ],
)
def test_sgd_bad_arguments(params, lr, error, words):
    with pytest.raises(error, match=words):
        SGD([Tensor(1.0)] if params is None else params, lr=lr)


def test_sgd_rejects_a_parameter_listed_twice():
    w = Tensor(1.0)
    with pytest.raises(ValueError, match="parameter 1 is listed twice"):
        SGD([w, w], lr=0.1)


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"n": 0, "batch_size": 4, "seed": 0}, ValueError, "n must be an int >= 1, got 0"),
        (
            {"n": 10, "batch_size": 0, "seed": 0},
            ValueError,
            "batch_size must be an int >= 1, got 0",
        ),
        (
            {"n": 10, "batch_size": 2.5, "seed": 0},
            TypeError,
            "batch_size must be an int >= 1, got 2.5",
        ),
        ({"n": 10, "batch_size": 4, "seed": -1}, ValueError, "seed must be an int >= 0"),
        ({"n": 10, "batch_size": 4, "seed": None}, TypeError, "seed must be an int >= 0"),
        ({"n": "10", "batch_size": 4, "seed": 0}, TypeError, "n must be an int >= 1"),
    ],
)
def test_minibatches_bad_arguments_fail_at_the_call(kwargs, error, words):
    with pytest.raises(error, match=words):
        minibatches(**kwargs)  # not only once iteration starts

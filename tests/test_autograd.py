import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers.autograd import Tensor, _unbroadcast, topological_order

# Values are bounded so every op stays smooth and finite: `any` for most ops, `pos` for
# log, powers and denominators, `away` (|x| >= 0.05) where the op has a kink at 0.
ANY = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
POS = st.floats(0.2, 3, allow_nan=False, allow_infinity=False)
AWAY = ANY.filter(lambda x: abs(x) >= 0.05)


def arrays(shape, elements=ANY):
    return hnp.arrays(np.float64, shape, elements=elements)


small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


def check(f, *inputs, torch_f=None, fd=True):
    """Compare the gradients of sum(w * f(inputs)) with torch.autograd (float64) and with
    central finite differences; w is a fixed random weighting of the output."""
    ts = [Tensor(x) for x in inputs]
    out = f(*ts)
    w = np.random.default_rng(0).normal(size=out.shape)
    (out * w).sum().backward()

    tt = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in inputs]
    t_out = (torch_f or f)(*tt)
    (t_out * torch.from_numpy(w)).sum().backward()
    np.testing.assert_allclose(out.data, t_out.detach().numpy(), rtol=1e-12, atol=1e-12)
    for t, ref in zip(ts, tt, strict=True):
        assert t.grad.shape == t.data.shape
        np.testing.assert_allclose(t.grad, ref.grad.numpy(), rtol=1e-10, atol=1e-12)

    if fd:
        for i, t in enumerate(ts):
            np.testing.assert_allclose(
                t.grad, _finite_differences(f, inputs, i, w), rtol=1e-5, atol=1e-6
            )


def _finite_differences(f, inputs, i, w, h=1e-6):
    """d sum(w * f(inputs)) / d inputs[i] by central differences, one entry at a time."""
    x = np.array(inputs[i], dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        value = []
        for step in (h, -h):
            xs = x.copy()
            xs[idx] += step
            args = [Tensor(a) for a in inputs[:i]] + [Tensor(xs)]
            args += [Tensor(a) for a in inputs[i + 1 :]]
            value.append(float((f(*args).data * w).sum()))
        grad[idx] = (value[0] - value[1]) / (2 * h)
    return grad


# -- elementwise ops, every shape --------------------------------------------------------
UNARY = {
    "neg": (lambda x: -x, ANY),
    "exp": (lambda x: x.exp(), ANY),
    "log": (lambda x: x.log(), POS),
    "tanh": (lambda x: x.tanh(), ANY),
    "sigmoid": (lambda x: x.sigmoid(), ANY),
    "relu": (lambda x: x.relu(), AWAY),
    "square": (lambda x: x**2, ANY),
    "cube": (lambda x: x**3, ANY),
    "sqrt": (lambda x: x**0.5, POS),
    "inverse": (lambda x: x**-1, POS),
}


@pytest.mark.parametrize("name", UNARY)
@settings(max_examples=15)
@given(data=st.data())
def test_unary_ops(name, data):
    f, elements = UNARY[name]
    x = data.draw(arrays(data.draw(small_shapes), elements))
    check(f, x)


BINARY = {
    "+": (lambda a, b: a + b, ANY),
    "-": (lambda a, b: a - b, ANY),
    "*": (lambda a, b: a * b, ANY),
    "/": (lambda a, b: a / b, POS),
}


@pytest.mark.parametrize("op", BINARY)
@settings(max_examples=20)
@given(data=st.data())
def test_binary_ops_with_broadcasting(op, data):
    f, right = BINARY[op]
    shapes = data.draw(
        hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
    )
    a = data.draw(arrays(shapes.input_shapes[0]))
    b = data.draw(arrays(shapes.input_shapes[1], right))
    check(f, a, b)


@pytest.mark.parametrize(
    ("sa", "sb"),
    [((3, 4), (4,)), ((3, 1), (1, 4)), ((3, 4), ()), ((), (2, 3)), ((2, 1, 3), (4, 1))],
)
def test_broadcasting_sums_gradients_back(sa, sb):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=sa), rng.uniform(0.5, 2, size=sb)
    for f in BINARY.values():
        check(f[0], a, b)
    ta, tb = Tensor(a), Tensor(b)
    (ta * tb).sum().backward()
    # d/db of sum(a * b): every copy of b collects the a it multiplied
    np.testing.assert_allclose(tb.grad, _unbroadcast(np.broadcast_to(a, (a * b).shape), sb))


def test_unbroadcast():
    g = np.ones((2, 3, 4))
    assert _unbroadcast(g, (4,)).tolist() == [6.0] * 4
    assert _unbroadcast(g, (3, 1)).tolist() == [[8.0]] * 3
    assert _unbroadcast(g, ()).shape == () and _unbroadcast(g, ()) == 24
    assert _unbroadcast(g, (2, 3, 4)).shape == (2, 3, 4)


@st.composite
def shape_and_axis(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    axis = draw(
        st.none()
        | st.integers(-len(shape), len(shape) - 1)
        | hnp.valid_tuple_axes(len(shape), min_size=1)
    )
    return shape, axis


@pytest.mark.parametrize("how", ["sum", "mean"])
@settings(max_examples=20)
@given(shape_and_axis(), st.booleans(), st.data())
def test_reductions(how, shape_axis, keepdims, data):
    shape, axis = shape_axis
    x = data.draw(arrays(shape))

    def ours(t):
        return getattr(t, how)(axis=axis, keepdims=keepdims)

    def theirs(t):
        return getattr(t, how)(dim=axis, keepdim=keepdims)

    check(ours, x, torch_f=theirs)
    assert ours(Tensor(x)).shape == getattr(x, how)(axis=axis, keepdims=keepdims).shape


def test_reductions_of_a_scalar_and_defaults():
    check(lambda t: t.sum(), np.array(2.5))
    check(lambda t: t.mean(), np.arange(6.0).reshape(2, 3))
    assert Tensor([[1, 2], [3, 4]]).mean(axis=0).data.tolist() == [2.0, 3.0]


# -- matrix products -----------------------------------------------------------------
@settings(max_examples=20)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.data())
@pytest.mark.parametrize("left", [1, 2])
@pytest.mark.parametrize("right", [1, 2])
def test_matmul_1d_and_2d(left, right, m, n, p, data):
    a = data.draw(arrays((m, n) if left == 2 else (n,)))
    b = data.draw(arrays((n, p) if right == 2 else (n,)))
    check(lambda x, y: x @ y, a, b)
    assert (Tensor(a) @ Tensor(b)).shape == (a @ b).shape


# -- reflected operators with numbers and arrays -----------------------------------
def test_reflected_ops_with_numbers_and_arrays():
    x = np.array([0.5, 1.0, 2.0])
    row = np.array([[1.0, -2.0, 3.0]])
    check(lambda t: 2 * t, x)
    check(lambda t: 1 - t, x)
    check(lambda t: 1 / t, x)
    check(lambda t: 3 + t, x)
    check(lambda t: np.float64(2.0) * t, x, torch_f=lambda t: 2.0 * t)
    check(lambda t: row * t, x, torch_f=lambda t: torch.from_numpy(row) * t)
    check(lambda t: row @ t, x, torch_f=lambda t: torch.from_numpy(row) @ t)
    assert isinstance(np.ones(3) - Tensor(x), Tensor)  # numpy defers to the Tensor


# -- composite graphs ----------------------------------------------------------------
def test_logistic_regression_loss():
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(8, 5)), rng.integers(0, 2, size=8).astype(float)
    w0, b0 = rng.normal(size=5), np.array(0.3)

    def loss(w, b):
        p = (Tensor(X) @ w + b).sigmoid()
        return -(y * p.log() + (1 - y) * (1 - p).log()).mean()

    def torch_loss(w, b):
        z = torch.from_numpy(X) @ w + b
        return torch.nn.functional.binary_cross_entropy_with_logits(z, torch.from_numpy(y))

    check(loss, w0, b0, torch_f=torch_loss)


def test_mlp_layer():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 4))
    params = rng.normal(size=(4, 3)), rng.normal(size=3), rng.normal(size=(3, 2)), 0.1

    def mlp(W1, b1, W2, b2, X=X):  # the torch version gets X as a torch tensor
        h = (X @ W1 + b1).tanh()
        return ((h @ W2 + b2).relu() ** 2).mean(axis=0)

    check(mlp, *params, torch_f=lambda *p: mlp(*p, X=torch.from_numpy(X)))


# -- reuse and accumulation ------------------------------------------------------------
def test_node_used_twice_accumulates():
    x = Tensor([1.5, -2.0])
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [3.0, -4.0])  # d(x^2)/dx = 2x

    a = Tensor(3.0)
    (a + a).backward()
    assert a.grad == 2.0

    b = Tensor(0.7)  # a diamond: c depends on b through two paths
    check(lambda b: (b * 2) * (b * 2).exp() + b.tanh(), b.data)


def test_gradients_accumulate_over_backward_calls_until_zero_grad():
    x = Tensor([1.0, 2.0])
    y = (x * 3).exp().sum()
    y.backward()
    first = x.grad.copy()
    y.backward()  # the second pass uses only its own gradients: exactly twice the first
    np.testing.assert_array_equal(x.grad, 2 * first)
    x.zero_grad()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_backward_with_an_explicit_gradient():
    x = Tensor([[1.0, 2.0], [3.0, 4.0]])
    (x * 3).backward(np.array([[1.0, 0.0], [0.0, 2.0]]))
    np.testing.assert_array_equal(x.grad, [[3.0, 0.0], [0.0, 6.0]])


def test_deep_graph_needs_no_recursion():
    x = Tensor(1.0)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert math.isclose(x.grad.item(), 1.0001**5000, rel_tol=1e-9)


def test_graph_is_recorded():
    a, b = Tensor(2.0, "a"), Tensor(3.0, "b")
    c = a * b + a
    order = topological_order(c)
    assert order[-1] is c and len(order) == 4  # a, b, a*b, c: each node once
    assert c._op == "+" and c._prev[0]._op == "*" and c._prev[0]._prev == (a, b)
    assert repr(a) == "Tensor(2, grad=0, name='a')"
    assert repr(Tensor([1.0, 2.0]) @ np.eye(2)) == "Tensor(shape=(2,), op='@')"


# -- dtype, numerics, errors -------------------------------------------------------------
def test_data_is_a_float64_copy():
    source = np.arange(3, dtype=np.int32)
    t = Tensor(source)
    assert t.data.dtype == np.float64 and t.grad.dtype == np.float64
    source[0] = 9
    assert t.data[0] == 0
    assert Tensor(np.float32(0.5)).data.dtype == np.float64
    assert Tensor(True).item() == 1.0


def test_sigmoid_is_stable_for_large_inputs():
    x = Tensor([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = x.sigmoid()
        s.sum().backward()
    assert s.data[0] == 0 and s.data[2] == 0.5 and s.data[4] == 1
    assert np.isfinite(x.grad).all() and x.grad[2] == 0.25


def test_relu_gradient_at_zero_is_zero_like_torch():
    check(lambda t: t.relu(), np.array([-1.0, 0.0, 2.0]), fd=False)
    x = Tensor([-1.0, 0.0, 2.0])
    x.relu().sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 1.0])


def test_log_of_non_positive_values_is_an_error():
    with pytest.raises(ValueError, match="log needs positive inputs, got a minimum of 0"):
        Tensor([1.0, 0.0]).log()
    with pytest.raises(ValueError, match="minimum of -2"):
        Tensor(-2.0).log()


def test_non_scalar_backward_needs_a_gradient():
    y = Tensor(np.ones((2, 3))) * 2
    with pytest.raises(ValueError, match=r"pass grad=, an array of shape \(2, 3\)"):
        y.backward()
    with pytest.raises(ValueError, match=r"grad must have shape \(2, 3\), got \(3,\)"):
        y.backward(np.ones(3))


@pytest.mark.parametrize(
    ("sa", "sb", "words"),
    [
        ((3, 4), (5, 2), r"shapes \(3, 4\) @ \(5, 2\): inner dimensions 4 and 5"),
        ((3,), (4,), r"shapes \(3,\) @ \(4,\)"),
        ((2, 3), (2,), r"shapes \(2, 3\) @ \(2,\)"),
        ((2, 2, 2), (2, 2), r"1-D or 2-D tensors, got shapes \(2, 2, 2\) and \(2, 2\)"),
        ((), (2,), r"1-D or 2-D tensors, got shapes \(\) and \(2,\)"),
    ],
)
def test_matmul_shape_errors_name_both_shapes(sa, sb, words):
    with pytest.raises(ValueError, match=words):
        Tensor(np.ones(sa)) @ Tensor(np.ones(sb))


def test_broadcast_and_axis_errors():
    with pytest.raises(ValueError, match=r"cannot broadcast shapes \(3, 4\) and \(5,\)"):
        Tensor(np.ones((3, 4))) + np.ones(5)
    with pytest.raises(ValueError, match=r"axis 2 does not fit a tensor of shape \(3, 4\)"):
        Tensor(np.ones((3, 4))).sum(axis=2)


@pytest.mark.parametrize(
    "bad",
    ["abc", None, [[1.0], [1.0, 2.0]], 1 + 2j, np.array([1, None]), {"a": 1}],
)
def test_bad_data_is_a_type_error(bad):
    with pytest.raises(TypeError, match="a Tensor holds numbers: expected a number"):
        Tensor(bad)
    with pytest.raises(TypeError, match="a Tensor holds numbers"):
        Tensor(1.0) * bad


def test_bad_exponents_are_type_errors():
    x = Tensor(2.0)
    with pytest.raises(TypeError, match="exponent must be a constant number"):
        x ** Tensor(2.0)
    with pytest.raises(TypeError, match="exponent must be a constant number, got str"):
        x ** "2"
    with pytest.raises(TypeError, match=r"c \*\* tensor is not supported"):
        2.0**x
    with pytest.raises(TypeError, match="expected a Tensor, got float"):
        topological_order(1.0)


def test_power_zero_is_constant_even_at_zero():
    x = Tensor([0.0, 2.0])
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])  # not nan at x = 0

"""helpers.explanation: rank agreement of two maps, and the faithfulness test."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from helpers.explanation import (
    bird_per_cell,
    faithfulness,
    grey_top,
    occlude_cells,
    pointing_game,
    rank_agreement,
    ranks,
    top_k_overlap,
)


def test_ranks_average_ties():
    np.testing.assert_array_equal(ranks([[3, 1, 1]]), [[2, 0.5, 0.5]])
    np.testing.assert_array_equal(ranks([[1, 2, 3, 4]]), [[0, 1, 2, 3]])
    np.testing.assert_array_equal(ranks([[5, 5, 5]]), [[1, 1, 1]])


def _pearson_of_ranks(a, b):
    ra, rb = ranks(a), ranks(b)
    return np.corrcoef(ra, rb)[0, 1]


@given(st.integers(0, 2**31), st.integers(1, 4))
def test_rank_agreement_is_spearman(seed, n):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 5, (n, 3, 3)).astype(float)  # ties on purpose
    b = rng.normal(size=(n, 3, 3))
    got = rank_agreement(a, torch.from_numpy(b))
    for i in range(n):
        if np.ptp(a[i]) == 0:
            assert np.isnan(got[i])
        else:
            assert got[i] == pytest.approx(_pearson_of_ranks(a[i].ravel(), b[i].ravel()))


def test_rank_agreement_extremes():
    a = np.arange(36.0).reshape(1, 6, 6)
    assert rank_agreement(a, a**3)[0] == pytest.approx(1.0)  # same order
    assert rank_agreement(a, -a)[0] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="same shape"):
        rank_agreement(a, a[:, :3])
    with pytest.raises(ValueError, match=r"\(N, h, w\)"):
        rank_agreement(a[0], a[0])


def test_occlude_cells_greys_exactly_the_listed_cells():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 48, 48)
    out = occlude_cells(x, np.array([[0, 7], [35, 35]]))
    mean = x.mean(dim=(2, 3))
    torch.testing.assert_close(out[0, :, :8, :8], mean[0, :, None, None].expand(3, 8, 8))
    torch.testing.assert_close(
        out[0, :, 8:16, 8:16], mean[0, :, None, None].expand(3, 8, 8)
    )
    torch.testing.assert_close(out[1, :, 40:, 40:], mean[1, :, None, None].expand(3, 8, 8))
    changed = (out != x).any(dim=1)
    assert changed[0].sum() <= 128 and changed[1].sum() <= 64
    assert torch.equal(out[0, :, 16:, 16:], x[0, :, 16:, 16:])
    assert not torch.equal(out, x) and torch.equal(x, x.clone())  # a copy


@pytest.mark.parametrize(
    ("cells", "match"),
    [
        (np.array([[36]]), "from 0 to 35"),
        (np.array([0]), r"shape \(1, k\)"),
        (np.array([[0.5]]), "ints"),
    ],
)
def test_occlude_cells_errors(cells, match):
    with pytest.raises(ValueError, match=match):
        occlude_cells(torch.zeros(1, 3, 48, 48), cells)


class OneCell(nn.Module):
    """Bird logit = 10 * (mean red in cell 14) - 5: only that cell matters."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, x):
        return self.scale * x[:, 0, 16:24, 16:24].mean(dim=(1, 2)) - 5


def test_faithfulness_top_cells_against_random_ones():
    x = torch.zeros(4, 3, 48, 48)
    x[:, 0, 16:24, 16:24] = 1.0  # red in cell 14 (row 2, column 2): "bird"
    right = np.zeros((4, 6, 6))
    right[:, 2, 2] = 1.0  # a map that points at the cell the model uses
    got = faithfulness(OneCell(), x, right, 1, seed=0)
    expected_before = torch.sigmoid(torch.tensor(10.0 - 5)).item()
    np.testing.assert_allclose(got["before"], expected_before, rtol=1e-6)
    grey = 64 / (48 * 48)  # the red channel's image mean
    np.testing.assert_allclose(
        got["top"], torch.sigmoid(torch.tensor(10 * grey - 5)).item()
    )
    assert (got["random"] >= got["top"]).all() and got["random"].max() == pytest.approx(
        expected_before
    )
    wrong = np.zeros((4, 6, 6))
    wrong[:, 0, 0] = 1.0
    assert (faithfulness(OneCell(), x, wrong, 1)["top"] == got["before"]).all()


def test_faithfulness_errors():
    x = torch.zeros(2, 3, 48, 48)
    with pytest.raises(ValueError, match="one map per image"):
        faithfulness(OneCell(), x, np.zeros((3, 6, 6)), 1)
    with pytest.raises(ValueError, match="k must be"):
        faithfulness(OneCell(), x, np.zeros((2, 6, 6)), 0)


def test_top_k_overlap_counts_shared_top_cells():
    a = np.arange(9.0).reshape(1, 3, 3)  # top cells 8, 7, 6
    b = a[:, ::-1, ::-1].copy()  # top cells 0, 1, 2
    np.testing.assert_array_equal(top_k_overlap(a, a, 3), [1.0])
    np.testing.assert_array_equal(top_k_overlap(a, b, 3), [0.0])
    np.testing.assert_allclose(top_k_overlap(a, b, 9), [1.0])
    np.testing.assert_allclose(top_k_overlap(a, b, 6), [0.5])  # 3..8 against 0..5
    with pytest.raises(ValueError, match="k must be an int from 1 to 9"):
        top_k_overlap(a, b, 0)
    with pytest.raises(ValueError, match="same shape"):
        top_k_overlap(a, b[:, :2], 1)


def test_bird_per_cell_and_pointing_game():
    masks = np.zeros((2, 16, 16), bool)
    masks[0, 0:8, 8:16] = True  # the whole top-right cell of a 2x2 grid
    masks[1, 15, 0] = True  # one pixel of the bottom-left cell
    share = bird_per_cell(masks, (2, 2))
    np.testing.assert_allclose(share[0], [[0, 1], [0, 0]])
    np.testing.assert_allclose(share[1], [[0, 0], [1 / 64, 0]])
    hits = pointing_game(share, masks)  # the bird's own map points at it
    np.testing.assert_array_equal(hits, [True, True])
    away = np.array([[[1.0, 0], [0, 0]], [[0, 0], [0, 1.0]]])
    np.testing.assert_array_equal(pointing_game(away, masks), [False, False])
    with pytest.raises(ValueError, match="does not cut"):
        bird_per_cell(masks, (3, 3))
    with pytest.raises(ValueError, match="booleans"):
        bird_per_cell(masks.astype(float), (2, 2))


class GreenSum(nn.Module):
    """logit = green light in the image, minus a constant."""

    def __init__(self):
        super().__init__()
        self.bias = nn.Parameter(torch.tensor(-10.0))

    def forward(self, images):
        return images[:, 1].sum(dim=(1, 2)) / 8 + self.bias


def test_grey_top_greys_the_ranked_cells_and_matches_faithfulness():
    model = GreenSum()
    images = torch.zeros(2, 3, 16, 16)
    images[:, 1, :8, :8] = 1.0  # green top-left cell
    maps = np.array([[[1.0, 0], [0, 0]], [[0, 1.0], [0, 0]]])
    p = grey_top(model, images, maps, 1)
    greyed = occlude_cells(images, np.array([[0], [1]]), 8)
    expected = torch.sigmoid(model(greyed)).detach().double().numpy()
    np.testing.assert_allclose(p, expected)
    assert p[0] < p[1]  # greying the green cell lowers the logit
    faith = faithfulness(model, images, maps, 1)
    np.testing.assert_allclose(faith["top"], p)
    with pytest.raises(ValueError, match="one map per image"):
        grey_top(model, images, maps[:1], 1)
    with pytest.raises(ValueError, match="k must be"):
        grey_top(model, images, maps, 5)

import numpy as np
import pytest
import torch

from helpers.equivariance import border_profile, shift_errors, shift_images
from helpers.models import Backbone, PooledCNN
from helpers.scenes import make_scenes

# Measured on these 8 scenes (seed 0 backbones, untrained, eval): circular padding
# gives map errors 0.033, 0.042, 0.051, 0.056 for shifts 1-4 px and exactly 0 for
# multiples of 8; zero padding gives 0.50 at 8 px. Border profile with zeros:
# [0.88, 0.61, 0.20, 0.00, 0.26, 0.70] across the six grid columns.
SUB_CELL_ERROR = 0.02  # a safe floor under the 0.05 measured for 3-4 px shifts


@pytest.fixture(scope="module")
def images():
    return make_scenes(8, seed=3, distractors=(1, 3)).images


@pytest.fixture(scope="module")
def circular():
    torch.manual_seed(0)
    return Backbone().eval()


@pytest.fixture(scope="module")
def zeros():
    torch.manual_seed(0)
    return Backbone(padding="zeros").eval()


def test_shift_images_rolls_right_and_wraps_around():
    x = torch.arange(2 * 3 * 4 * 10, dtype=torch.float32).reshape(2, 3, 4, 10)
    shifted = shift_images(x, 3)
    assert shifted.shape == x.shape
    torch.testing.assert_close(shifted[..., 3:], x[..., :-3])
    torch.testing.assert_close(shifted[..., :3], x[..., -3:])  # wrapped around
    torch.testing.assert_close(shifted, torch.roll(x, 3, dims=-1))
    torch.testing.assert_close(shift_images(x, -2), torch.roll(x, -2, dims=-1))
    torch.testing.assert_close(shift_images(x, 10), x)  # a full turn
    torch.testing.assert_close(shift_images(x, 0), x)
    torch.testing.assert_close(shift_images(x, np.int64(3)), shifted)


@pytest.mark.parametrize("dx", [1.0, 2.5, "3", True, None])
def test_shift_images_rejects_non_int_shifts(dx):
    with pytest.raises(TypeError, match="dx must be an int"):
        shift_images(torch.zeros(1, 3, 8, 8), dx)


def test_circular_padding_is_exactly_equivariant_to_whole_cell_shifts(circular, images):
    assert circular.stride == 8
    e = shift_errors(circular, images, [0, 8, 16])
    np.testing.assert_array_equal(e["shifts"], [0, 8, 16])
    assert e["map_error"].shape == e["pooled_error"].shape == (3,)
    assert (e["map_error"] < 1e-5).all(), e["map_error"]
    assert (e["pooled_error"] < 1e-5).all(), e["pooled_error"]


@pytest.mark.parametrize("dx", [3, 4])
def test_sub_cell_shifts_break_equivariance(circular, images, dx):
    e = shift_errors(circular, images, [dx])
    assert e["map_error"][0] > SUB_CELL_ERROR
    assert e["pooled_error"][0] > 0.0  # the average changes too, but much less
    assert e["pooled_error"][0] < e["map_error"][0]


def test_zero_padding_breaks_equivariance_even_for_whole_cells(zeros, images):
    e = shift_errors(zeros, images, [0, 8])
    assert e["map_error"][0] < 1e-6  # no shift, no error
    assert e["map_error"][1] > 1e-3
    assert e["map_error"][1] > 0.1  # measured 0.50


def test_shift_errors_accepts_tensors(circular, images):
    a = shift_errors(circular, images, [4, 8])
    b = shift_errors(circular, torch.from_numpy(images), [4, 8])
    np.testing.assert_allclose(a["map_error"], b["map_error"])
    np.testing.assert_allclose(a["pooled_error"], b["pooled_error"])


def test_border_profile_circular_is_zero_everywhere(circular, images):
    profile = border_profile(circular, images)
    assert profile.shape == (6,)
    assert (profile < 1e-5).all(), profile


def test_border_profile_zeros_is_worst_at_the_borders(zeros, images):
    profile = border_profile(zeros, images)
    assert profile.shape == (6,)
    middle = profile[2:4].max()  # measured 0.20
    assert profile[0] > 2 * middle and profile[-1] > 2 * middle  # measured 0.88, 0.70
    assert min(profile[0], profile[-1]) > 0.3


@pytest.mark.parametrize("measure", ["shift_errors", "border_profile"])
def test_the_backbone_mode_and_statistics_are_restored(images, measure):
    torch.manual_seed(0)
    backbone = Backbone().train()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    if measure == "shift_errors":
        shift_errors(backbone, images, [0, 4])
    else:
        border_profile(backbone, images)
    assert backbone.training
    for name, value in backbone.state_dict().items():  # BatchNorm statistics too
        assert torch.equal(value, before[name]), name
    backbone.eval()
    shift_errors(backbone, images, [8])
    assert not backbone.training


@pytest.mark.parametrize("measure", [shift_errors, border_profile])
def test_bad_inputs_are_rejected(circular, images, measure):
    def run(backbone, x):
        if measure is shift_errors:
            return measure(backbone, x, [8])
        return measure(backbone, x)

    with pytest.raises(TypeError, match="Backbone"):
        run(PooledCNN("avg"), images)
    with pytest.raises(TypeError, match="Backbone"):
        run(torch.nn.Conv2d(3, 8, 3), images)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        run(circular, images[:, :1])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        run(circular, images[0])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        run(circular, images.tolist())
    with pytest.raises(TypeError, match="float32"):
        run(circular, images.astype(np.float64))

import numpy as np
import pytest
import torch

from helpers.cam import cell_contributions, class_activation_map
from helpers.models import PooledCNN, ReadoutCNN
from helpers.scenes import make_scenes


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    model = PooledCNN("avg").eval()
    # an untrained classifier's logits are all near 0; give it weights of size 1 and a
    # bias so that the identity below is checked on logits of a few units
    with torch.no_grad():
        model.classifier.weight.normal_()
        model.classifier.bias.fill_(0.25)
    return model


@pytest.fixture(scope="module")
def images():
    return make_scenes(6, seed=3, distractors=(1, 3)).images


def test_the_cam_averages_to_the_logit_minus_the_bias(model, images):
    """Zhou et al. (2016): z = mean_ij (w . f_ij) + b for an average-pooled CNN."""
    cam = class_activation_map(model, images)
    assert isinstance(cam, np.ndarray) and cam.shape == (6, 6, 6)
    with torch.no_grad():
        logits = model(torch.from_numpy(images)).numpy()
    assert np.abs(logits).max() > 0.1  # not a trivially small check
    bias = model.classifier.bias.item()
    np.testing.assert_allclose(cam.mean(axis=(1, 2)) + bias, logits, rtol=1e-5, atol=1e-5)


def test_the_cam_is_the_classifier_weight_dotted_with_each_cell(model, images):
    with torch.no_grad():
        f = model.backbone(torch.from_numpy(images[:2])).numpy()  # (2, C, 6, 6)
    w = model.classifier.weight[0].detach().numpy()
    expected = np.einsum("c,nchw->nhw", w, f)
    np.testing.assert_allclose(
        class_activation_map(model, images[:2]), expected, rtol=1e-5, atol=1e-5
    )


def test_numpy_and_torch_images_give_the_same_map(model, images):
    a = class_activation_map(model, images)
    b = class_activation_map(model, torch.from_numpy(images))
    np.testing.assert_array_equal(a, b)


def test_the_cam_moves_with_whole_cell_shifts(model, images):
    cam = class_activation_map(model, images[:2])
    shifted = class_activation_map(model, np.roll(images[:2], 16, axis=-1))
    np.testing.assert_allclose(shifted, np.roll(cam, 2, axis=-1), rtol=1e-4, atol=1e-5)


def test_the_model_mode_and_parameters_are_restored(images):
    torch.manual_seed(0)
    model = PooledCNN("avg").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    class_activation_map(model, images[:2])
    assert model.training
    for name, value in model.state_dict().items():  # BatchNorm statistics too
        assert torch.equal(value, before[name]), name
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError):
        class_activation_map(model, np.zeros((1, 3, 40, 40), np.float32))
    assert model.training  # restored when the model's check fails, too
    model.eval()
    class_activation_map(model, images[:1])
    assert not model.training


@pytest.mark.parametrize("pool", ["attention", "mask"])
def test_other_poolings_are_rejected(pool, images):
    with pytest.raises(TypeError, match="PooledCNN"):
        class_activation_map(PooledCNN(pool), images[:1])


def test_bad_models_and_images_are_rejected(model, images):
    with pytest.raises(TypeError, match="PooledCNN"):
        class_activation_map(torch.nn.Conv2d(3, 1, 3), images[:1])
    with pytest.raises(TypeError, match="PooledCNN"):
        class_activation_map(None, images[:1])
    with pytest.raises(TypeError, match="numpy array or torch tensor"):
        class_activation_map(model, images[:1].tolist())
    with pytest.raises(ValueError, match="built for"):
        class_activation_map(model, np.zeros((1, 3, 40, 40), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        class_activation_map(model, images[:1, :1])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        class_activation_map(model, images[0])


def test_cell_contributions_sum_to_the_logit(model, images):
    """avg: the CAM over the cells' number; flatten: W_ij . f_ij, its own weights."""
    x = torch.from_numpy(images)
    terms = cell_contributions(model, images)
    np.testing.assert_allclose(terms, class_activation_map(model, images) / 36, rtol=1e-6)
    torch.manual_seed(1)
    flatten = ReadoutCNN("flatten").eval()
    with torch.no_grad():
        flatten.classifier.weight.normal_()  # logits of a few units, not near 0
        flatten.classifier.bias.fill_(-0.5)
        f = flatten.backbone(x)
        logits = flatten(x)
    terms = cell_contributions(flatten, x)
    assert terms.shape == (6, 6, 6)
    np.testing.assert_allclose(terms.sum(axis=(1, 2)) - 0.5, logits.numpy(), rtol=1e-4)
    w = flatten.classifier.weight.detach().view(64, 6, 6)
    expected = (f[2] * w).sum(0).numpy()
    np.testing.assert_allclose(terms[2], expected, rtol=1e-5, atol=1e-6)
    assert np.abs(terms[0] - terms[1]).max() > 1e-3  # the terms change with the image


def test_cell_contributions_reject_other_models(images):
    for bad in (PooledCNN("attention"), ReadoutCNN("max"), None):
        with pytest.raises(TypeError, match='ReadoutCNN\\("flatten"\\)'):
            cell_contributions(bad, images[:1])
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        cell_contributions(ReadoutCNN("flatten"), images[0])
    with pytest.raises(ValueError, match="grid"):
        cell_contributions(ReadoutCNN("flatten"), np.zeros((1, 3, 40, 40), np.float32))

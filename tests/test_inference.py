"""helpers.inference.eval_mode: eval mode inside the block, each module's mode after."""

import pytest
import torch
from torch import nn

from helpers.inference import eval_mode
from helpers.models import PooledCNN, ViT
from helpers.train import predict_logits


def test_every_module_is_in_eval_mode_inside_and_back_after():
    model = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2), nn.Dropout())
    with eval_mode(model) as inside:
        assert inside is model
        assert not any(m.training for m in model.modules())
    assert all(m.training for m in model.modules())
    model.eval()
    with eval_mode(model):
        pass
    assert not any(m.training for m in model.modules())


def test_mixed_modes_come_back_as_they_were():
    head, frozen = nn.Linear(2, 1), nn.BatchNorm1d(2)
    model = nn.Sequential(frozen, head)
    frozen.eval()  # a frozen backbone under a head that trains
    with eval_mode(model):
        pass
    assert model.training and head.training and not frozen.training


class Broken(nn.Module):
    """A model whose forward pass fails (a bad input deep inside, say)."""

    def __init__(self):
        super().__init__()
        self.norm = nn.BatchNorm1d(2)

    def forward(self, x):
        raise RuntimeError("no")


def test_the_mode_comes_back_when_the_block_raises():
    model = Broken()
    with pytest.raises(RuntimeError, match="no"), eval_mode(model):
        model(torch.zeros(3, 2))
    assert model.training and model.norm.training
    with pytest.raises(RuntimeError, match="no"):
        predict_logits(
            model, torch.zeros(3, 2)
        )  # train.predict_logits reads through eval_mode
    assert model.training and model.norm.training


def test_readers_of_a_model_leave_it_in_training_mode():
    images = torch.rand(2, 3, 48, 48)
    cnn, vit = PooledCNN("attention"), ViT()
    cnn.pool_weights(images)
    vit.attention_maps(images)
    assert all(m.training for m in (*cnn.modules(), *vit.modules()))


def test_only_modules():
    with pytest.raises(TypeError, match="must be a torch nn.Module, got int"), eval_mode(3):
        pass

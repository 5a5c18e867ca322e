"""Chapter 2's residual control: a deep MLP with skip connections and layer norm.

A plain deep net asks every layer to pass the signal on; a residual net adds each
block's output to its input instead, so the identity is the default and a block only
has to learn a correction (He et al. 2016). A pre-norm block first normalises its
input over the units (layer normalisation, Ba et al. 2016), so every block sees
inputs of the same scale however deep it sits::

    h_1     = act(W_in h_0 + b_in)                            (N, width)
    h_{k+1} = h_k + V_k act(U_k LN_k(h_k) + c_k) + d_k        (N, width)
    z       = w^T LN(h_B+1) + b                               (N,)

:class:`ResidualMLP` has the plain net's input layer (``W_in``: pixels to ``width``
units) and output layer (``w``: one logit), and two ``width x width`` layers per block:
:func:`residual_mlp` with ``depth=15`` has 1 + 2 x 7 = 15 hidden layers, as many
weight matrices as ``helpers.initialisation.deep_mlp(15, ...)``.
"""

from __future__ import annotations

import torch
from torch import nn

from helpers.models import ACTIVATIONS, INITS, init_std

__all__ = ["ResidualBlock", "ResidualMLP", "residual_mlp"]


class ResidualBlock(nn.Module):
    """One pre-norm residual block: (N, width) -> (N, width).

    ``h + outer(act(inner(norm(h))))``: :attr:`norm` a ``LayerNorm(width)``,
    :attr:`inner` and :attr:`outer` ``Linear(width, width)``.

    Args:
        width: the units of the block's input and output.
        activation: ``"relu"`` or ``"tanh"``.
    """

    def __init__(self, width: int, activation: str = "relu"):
        super().__init__()
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        self.activation = activation
        """The non-linearity between the two layers, ``"relu"`` or ``"tanh"``."""
        self.norm = nn.LayerNorm(width)
        """Normalises each row of the input over its units (mean 0, variance 1)."""
        self.inner = nn.Linear(width, width)
        """The first layer of the branch, U_k."""
        self.outer = nn.Linear(width, width)
        """The second layer of the branch, V_k: its output is added to the input."""

    def branch(self, h: torch.Tensor) -> torch.Tensor:
        """The residual branch alone: (N, width) -> (N, width)."""
        a = self.inner(self.norm(h))
        return self.outer(torch.relu(a) if self.activation == "relu" else torch.tanh(a))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """(N, width) -> (N, width): the input plus its branch."""
        return h + self.branch(h)


class ResidualMLP(nn.Module):
    """A residual, layer-normalised MLP on raw pixels: N images (3, H, W) -> N logits.

    The image is flattened and rescaled to [-1, 1] as in ``helpers.models.MLP``; an
    input layer maps it to ``width`` units, ``blocks`` residual blocks follow
    (:class:`ResidualBlock`), then a final layer norm and the output layer (see the
    module's docstring). Every weight is drawn by ``init``
    (``helpers.models.init_std``), every bias starts at 0, the layer norms at scale 1
    and shift 0.

    Args:
        blocks: how many residual blocks, 0 to 24 (each has two hidden layers).
        width: the units of every hidden layer.
        activation: ``"relu"`` or ``"tanh"``.
        init: ``"naive"``, ``"glorot"`` or ``"he"``.
        size: the images' height and width in pixels (48).

    >>> model = ResidualMLP(2, width=8)
    >>> model(torch.zeros(5, 3, 48, 48)).shape
    torch.Size([5])
    >>> model.hidden_layers  # the input layer and two per block
    5
    """

    def __init__(
        self,
        blocks: int = 7,
        *,
        width: int = 256,
        activation: str = "relu",
        init: str = "he",
        size: int = 48,
    ):
        super().__init__()
        if isinstance(blocks, bool) or not isinstance(blocks, int) or not 0 <= blocks <= 24:
            raise ValueError(f"blocks must be an int from 0 to 24, got {blocks!r}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        self.activation = activation
        """The non-linearity of the input layer and of every block."""
        self.init = init
        """How the weights were drawn, one of ``helpers.models.INITS``."""
        self.size = size
        """The images' height and width in pixels."""
        self.first = nn.Linear(3 * size * size, width)
        """The input layer, pixels -> ``width`` units (the plain net's first layer)."""
        self.blocks = nn.ModuleList(ResidualBlock(width, activation) for _ in range(blocks))
        """The residual blocks (:class:`ResidualBlock`), in order."""
        self.norm = nn.LayerNorm(width)
        """The layer norm before the output layer."""
        self.last = nn.Linear(width, 1)
        """The output layer, ``width`` units -> one logit."""
        with torch.no_grad():
            linears = [self.first, self.last]
            linears += [m for b in self.blocks for m in (b.inner, b.outer)]
            for layer in linears:
                fan_out, fan_in = layer.weight.shape
                layer.weight.normal_(0.0, init_std(init, fan_in, fan_out))
                layer.bias.zero_()

    @property
    def hidden_layers(self) -> int:
        """The hidden weight layers: the input layer and two per block."""
        return 1 + 2 * len(self.blocks)

    def act(self, h: torch.Tensor) -> torch.Tensor:
        """The non-linearity, elementwise."""
        return torch.relu(h) if self.activation == "relu" else torch.tanh(h)

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images -> (N, D) inputs h_0 = 2 x - 1, checked."""
        if not isinstance(images, torch.Tensor):
            raise TypeError(
                f"images must be a torch tensor (N, 3, H, W); got {type(images).__name__} "
                "(use torch.from_numpy(scenes.images))"
            )
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, self.size, self.size):
            raise ValueError(
                f"images must have shape (N, 3, {self.size}, {self.size}), "
                f"got {tuple(images.shape)}"
            )
        if images.dtype != self.first.weight.dtype:
            raise TypeError(
                f"images must be {self.first.weight.dtype} like the model's weights, "
                f"got {images.dtype} (use images.float())"
            )
        return 2.0 * images.flatten(1) - 1.0

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float images -> (N,) bird logits (positive = bird)."""
        h = self.act(self.first(self.inputs(images)))
        for block in self.blocks:
            h = block(h)
        return self.last(self.norm(h))[:, 0]


def residual_mlp(
    depth: int, activation: str, init: str, *, width: int = 256, seed: int = 0
) -> ResidualMLP:
    """A :class:`ResidualMLP` with ``depth`` hidden layers, drawn from ``seed``.

    The residual counterpart of ``helpers.initialisation.deep_mlp``: the same input
    and output layers, and (depth - 1) / 2 blocks of two layers in between.

    Args:
        depth: the number of hidden layers, an odd int from 1 to 49.
        activation: ``"relu"`` or ``"tanh"``.
        init: ``"naive"``, ``"glorot"`` or ``"he"``.
        width: the units per hidden layer.
        seed: torch's seed for the initial weights.

    >>> len(residual_mlp(15, "relu", "he", width=8).blocks)
    7
    """
    if (
        isinstance(depth, bool)
        or not isinstance(depth, int)
        or not 1 <= depth <= 49
        or depth % 2 == 0
    ):
        raise ValueError(f"depth must be an odd int from 1 to 49, got {depth!r}")
    torch.manual_seed(seed)
    return ResidualMLP((depth - 1) // 2, width=width, activation=activation, init=init)

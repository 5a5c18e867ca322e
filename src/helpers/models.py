"""The course's torch models: chapter 2's MLP, and chapter 4's CNN with three poolings.

:class:`MLP` (chapter 2) flattens the image and applies fully connected layers: every
weight connects one pixel (or one hidden unit) to one unit of the next layer, and is
fixed after training.

Chapter 4's models: one CNN backbone, three ways to pool its grid of regions.

The backbone turns an image (3, 48, 48) into a 6x6 grid of region features (C, 6, 6).
A pooling head then weights the 36 regions and sums them into one vector, from which a
linear layer says "bird" or "no bird". Only the pooling weights differ:

- ``"avg"``: every region weighs 1/36. No weights over positions at all.
- ``"mask"``: a learned map, one parameter per grid cell, softmax-normalised. After
  training it is *fixed*: the same weighting for every image ("weights that decide
  what matters").
- ``"attention"``: a learned query is scored against each region's key; the softmax
  of the scores weights the regions' values. The weighting is *computed from the
  image*: the parameters (query, key and value maps) are fixed after training, the
  weights they produce are not.

The backbone pads its convolutions circularly, so it cannot tell where the border is:
a shifted bird gives shifted features. With zero padding it could, and the position
experiment would measure that leak instead of the pooling (see chapter 4's aside).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from helpers.attention import MultiHeadSelfAttention, scaled_dot_product_attention
from helpers.inference import eval_mode

__all__ = [
    "ACTIVATIONS",
    "INITS",
    "MLP",
    "POOLS",
    "READOUTS",
    "POSITIONS",
    "STEMS",
    "Backbone",
    "PooledCNN",
    "ReadoutCNN",
    "Block",
    "ViT",
]

POOLS = ("avg", "mask", "attention")
"""The names of the three pooling heads a :class:`PooledCNN` can have.

Average pooling, a fixed learned spatial mask and attention pooling: chapter 4 compares
them, each built by ``PooledCNN(pool)``."""


ACTIVATIONS = ("relu", "tanh")
"""The hidden units' non-linearities an :class:`MLP` can have."""
INITS = ("naive", "glorot", "he")
"""How an :class:`MLP`'s weights are drawn before training (biases start at 0).

``"naive"``: normal with standard deviation 0.01 for every layer (the pre-2010 habit);
``"glorot"``: normal with variance 2 / (fan_in + fan_out) (Glorot & Bengio 2010);
``"he"``: normal with variance 2 / fan_in (He et al. 2015)."""
NAIVE_STD = 0.01
"""The standard deviation of every weight under the ``"naive"`` initialisation."""


def init_std(init: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation of a layer's initial weights under ``init``.

    A layer maps fan_in inputs to fan_out outputs (its weight is fan_out x fan_in):
    naive 0.01; Glorot sqrt(2 / (fan_in + fan_out)); He sqrt(2 / fan_in).
    """
    if init not in INITS:
        raise ValueError(f"init must be one of {INITS}, got {init!r}")
    for name, value in (("fan_in", fan_in), ("fan_out", fan_out)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if init == "naive":
        return NAIVE_STD
    if init == "glorot":
        return math.sqrt(2.0 / (fan_in + fan_out))
    return math.sqrt(2.0 / fan_in)


class MLP(nn.Module):
    """A multilayer perceptron on raw pixels: N images (3, H, W) -> N bird logits.

    The image is flattened to D = 3 H W numbers and rescaled from [0, 1] to [-1, 1]
    (so inputs have mean near 0, as the initialisation schemes assume), then::

        h_0 = 2 x - 1                      (N, D)
        h_l = act(h_{l-1} W_l^T + b_l)     (N, hidden[l-1]), l = 1 .. len(hidden)
        z   = h_L w^T + b                  (N,) the logit of "bird"

    Every layer is an ``nn.Linear`` in :attr:`layers`, in order (the last one gives
    the logit). ``MLP(hidden=())`` is logistic regression.

    Args:
        hidden: the widths of the hidden layers, positive ints (e.g. ``(256, 256)``).
        activation: ``"relu"`` or ``"tanh"`` (see :data:`ACTIVATIONS`).
        init: ``"naive"``, ``"glorot"`` or ``"he"`` (see :data:`INITS`); applied at
            construction and by ``helpers.train.reset_parameters`` (so ``fit`` uses
            it too).
        size: the images' height and width in pixels (48).
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (256, 256),
        *,
        activation: str = "relu",
        init: str = "he",
        size: int = 48,
    ):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}")
        if not isinstance(hidden, (tuple, list)) or not all(
            isinstance(h, int) and not isinstance(h, bool) and h > 0 for h in hidden
        ):
            raise ValueError(f"hidden must be a tuple of positive ints, got {hidden!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        self.activation = activation
        """The hidden non-linearity, ``"relu"`` or ``"tanh"``."""
        self.init = init
        """The initialisation scheme, one of :data:`INITS`."""
        self.size = size
        """The images' height and width in pixels."""
        widths = [3 * size * size, *hidden, 1]
        self.layers = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:], strict=True)
        )
        """The ``nn.Linear`` layers in order: D -> hidden[0] -> ... -> 1."""
        self.reset_own_parameters()

    def act(self, h: torch.Tensor) -> torch.Tensor:
        """The hidden non-linearity, elementwise."""
        return torch.relu(h) if self.activation == "relu" else torch.tanh(h)

    def reset_own_parameters(self) -> None:
        """Draw every weight by :attr:`init` (:func:`init_std`) and zero the biases."""
        with torch.no_grad():
            for layer in self.layers:
                fan_out, fan_in = layer.weight.shape
                layer.weight.normal_(0.0, init_std(self.init, fan_in, fan_out))
                layer.bias.zero_()

    def inputs(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images -> (N, D) inputs h_0 = 2 x - 1, checked."""
        images = _check_images(images)
        if tuple(images.shape[-2:]) != (self.size, self.size):
            raise ValueError(
                f"this MLP was built for {self.size}x{self.size} images, got "
                f"{tuple(images.shape[-2:])}"
            )
        dtype = self.layers[0].weight.dtype
        if images.dtype != dtype:
            raise TypeError(
                f"images must be {dtype} like the model's weights, got {images.dtype} "
                "(use images.float())"
            )
        return 2.0 * images.flatten(1) - 1.0

    def templates(self) -> torch.Tensor:
        """The first layer's weights as images: (units, 3, H, W), a copy.

        Row j of W_1 holds one weight per input pixel and channel; unit j computes its
        dot product with the (rescaled) image, so the row reshaped is the picture the
        unit responds to most: a template, the same for every image.
        """
        w = self.layers[0].weight.detach().cpu().clone()
        return w.reshape(len(w), 3, self.size, self.size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float images -> (N,) bird logits (positive = bird)."""
        h = self.inputs(images)
        for layer in self.layers[:-1]:
            h = self.act(layer(h))
        return self.layers[-1](h)[:, 0]


class Backbone(nn.Module):
    """Four 3x3 convolutions with BatchNorm and ReLU; 2x2 max-pools after three.

    (N, 3, H, W) -> (N, C, H/8, W/8); for 48x48 images a 6x6 grid of C = 64 features.

    Each max-pool comes right after its convolution, before BatchNorm and ReLU, so
    BatchNorm and ReLU work on a quarter of the pixels. ReLU commutes with a max;
    BatchNorm does not quite (its statistics are taken after pooling), so this is a
    slightly different network of the same kind. One training step measured 10-20%
    faster on 2 CPU cores, and chapter 4's model got more accurate.

    Args:
        channels: output channels of the four convolutions.
        padding: ``"circular"`` (the course's default: no border to read position
            from) or ``"zeros"``.
    """

    def __init__(
        self, channels: tuple[int, ...] = (16, 32, 48, 64), padding: str = "circular"
    ):
        super().__init__()
        if padding not in ("circular", "zeros"):
            raise ValueError(f'padding must be "circular" or "zeros", got {padding!r}')
        if len(channels) < 1 or not all(isinstance(c, int) and c > 0 for c in channels):
            raise ValueError(f"channels must be positive ints, got {channels!r}")
        layers: list[nn.Module] = []
        c_in = 3
        for i, c in enumerate(channels):
            layers.append(
                nn.Conv2d(c_in, c, 3, padding=1, padding_mode=padding, bias=False)
            )
            if i < len(channels) - 1:
                layers.append(nn.MaxPool2d(2))
            layers += [nn.BatchNorm2d(c), nn.ReLU()]
            c_in = c
        self.net = nn.Sequential(*layers)
        """The layers in order (3x3 convolution, 2x2 max-pool, BatchNorm, ReLU per stage).

        Each of ``channels`` gives one stage; the last stage has no max-pool.
        """
        self.out_channels = int(channels[-1])
        """C, each region's feature length, the last of ``channels`` (64 by default)."""
        self.stride = 2 ** (len(channels) - 1)
        """The side of one grid cell in pixels, 2 per max-pool (8 by default).

        The grid of regions is H / stride by W / stride cells (6x6 for 48x48 images).
        """

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) -> (N, C, H / stride, W / stride)."""
        return self.net(images)

    def grid_for(self, size: int) -> tuple[int, int]:
        """(h, w), the grid of regions for ``size`` x ``size`` images (a multiple of
        :attr:`stride`): (6, 6) for 48 x 48 with the default channels."""
        if size % self.stride:
            raise ValueError(f"size must be a multiple of {self.stride}, got {size}")
        return (size // self.stride, size // self.stride)


def _check_images(images: object) -> torch.Tensor:
    if not isinstance(images, torch.Tensor):
        raise TypeError(
            f"images must be a torch tensor (N, 3, H, W); got {type(images).__name__} "
            "(use torch.from_numpy(scenes.images))"
        )
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (N, 3, H, W), got {tuple(images.shape)}")
    if not torch.is_floating_point(images):
        raise TypeError(f"images must be floats in [0, 1], got dtype {images.dtype}")
    return images


class PooledCNN(nn.Module):
    """Backbone + pooling head + linear classifier: N images -> N bird logits.

    Args:
        pool: ``"avg"``, ``"mask"`` or ``"attention"``.
        size: image height and width (48); fixes the grid (size / 8) for the mask.
        backbone: a :class:`Backbone` to share with other heads (one is built
            otherwise); sharing one backbone between three heads trained together
            compares the poolings on identical features.
        padding: the backbone's padding when it is built here.
        queries: attention only: how many learned queries (e.g. 2 for "bird" and
            "leaf"); query 0 feeds the bird classifier, each query has its own output.
        key_dim: attention only: the dimension of queries and keys.
    """

    def __init__(
        self,
        pool: str = "attention",
        *,
        size: int = 48,
        backbone: Backbone | None = None,
        padding: str = "circular",
        queries: int = 1,
        key_dim: int = 32,
    ):
        super().__init__()
        if pool not in POOLS:
            raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
        if (
            not isinstance(queries, int)
            or queries < 1
            or (pool != "attention" and queries > 1)
        ):
            raise ValueError(f"queries must be 1, or more for attention; got {queries!r}")
        self.pool = pool
        """The pooling head, one of :data:`POOLS` ("avg", "mask" or "attention")."""
        self.backbone = backbone if backbone is not None else Backbone(padding=padding)
        """The :class:`Backbone`, (N, 3, H, W) images -> (N, C, h, w) region features."""
        self.grid = self.backbone.grid_for(size)
        """(h, w), the grid of regions the pooling weights cover ((6, 6) for 48x48)."""
        c = self.backbone.out_channels
        self.n_queries = queries
        """Q, the number of learned queries and outputs (1 except multi-query attention)."""
        if pool == "mask":
            self.mask_logits = nn.Parameter(torch.zeros(self.grid))
        if pool == "attention":
            self.key = nn.Conv2d(c, key_dim, 1)
            self.value = nn.Conv2d(c, c, 1)
            self.queries = nn.Parameter(torch.randn(queries, key_dim) / math.sqrt(key_dim))
        self.classifier = nn.Linear(c, queries)
        """Linear C -> Q; output j reads only query j's pooled vector (j = 0, the bird)."""

    def reset_own_parameters(self) -> None:
        """Re-initialise the parameters that belong to no submodule (mask, queries)."""
        with torch.no_grad():
            if self.pool == "mask":
                self.mask_logits.zero_()
            if self.pool == "attention":
                self.queries.normal_(0.0, 1.0 / math.sqrt(self.queries.shape[1]))

    def _features(self, images: torch.Tensor) -> torch.Tensor:
        features = self.backbone(_check_images(images))
        if tuple(features.shape[-2:]) != self.grid:
            raise ValueError(
                f"images of {tuple(images.shape[-2:])} pixels give a "
                f"{tuple(features.shape[-2:])} grid; this model was built for {self.grid}"
            )
        return features

    def pool_all(
        self, images: torch.Tensor, *, temperature: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled vectors (N, Q, C) and pooling weights (N, Q, h, w) for every query."""
        return self.pool_features(self._features(images), temperature=temperature)

    def pool_features(
        self, f: torch.Tensor, *, temperature: float = 1.0
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`pool_all` from backbone features (N, C, h, w) already computed."""
        n, c, h, w = f.shape
        if self.pool == "attention":
            keys = self.key(f).flatten(2).transpose(1, 2)  # (N, hw, dk)
            values = self.value(f).flatten(2).transpose(1, 2)  # (N, hw, C)
            q = self.queries.expand(n, -1, -1)  # (N, Q, dk)
            pooled, weights = scaled_dot_product_attention(
                q, keys, values, temperature=temperature
            )
            return pooled, weights.reshape(n, self.n_queries, h, w)
        if self.pool == "mask":
            weights = torch.softmax(self.mask_logits.flatten() / temperature, 0)
            weights = weights.expand(n, h * w)
        else:
            weights = f.new_full((n, h * w), 1.0 / (h * w))
        pooled = torch.einsum("nl,ncl->nc", weights, f.flatten(2))
        return pooled[:, None], weights.reshape(n, 1, h, w)

    def logits_all(self, images: torch.Tensor, *, temperature: float = 1.0) -> torch.Tensor:
        """(N, Q) logits, one per query (Q = 1 except for multi-query attention);
        ``temperature`` divides the pooling scores (1 = as trained)."""
        return self.logits_from_features(self._features(images), temperature=temperature)

    def logits_from_features(
        self, f: torch.Tensor, *, temperature: float = 1.0
    ) -> torch.Tensor:
        """:meth:`logits_all` from backbone features (N, C, h, w): heads that share a
        backbone compute its features once per batch (see ``helpers.train.fit``)."""
        pooled, _ = self.pool_features(f, temperature=temperature)
        # query j's pooled vector feeds output j only
        return (pooled * self.classifier.weight[None]).sum(-1) + self.classifier.bias

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float images -> (N,) bird logits (positive = bird)."""
        return self.logits_all(images)[:, 0]

    @torch.no_grad()
    def pool_weights(
        self, images: torch.Tensor, *, query: int = 0, temperature: float = 1.0
    ) -> torch.Tensor:
        """(N, h, w) pooling weights, each map summing to 1 (computed in eval mode).

        Uniform for ``"avg"``; the same learned map for every image for ``"mask"``;
        computed from each image for ``"attention"`` (by query ``query``).
        ``temperature`` divides the scores before the softmax (1 = as trained).
        """
        if not isinstance(query, int) or not 0 <= query < self.n_queries:
            raise ValueError(
                f"query must be an int in [0, {self.n_queries}), got {query!r}"
            )
        images = _check_images(images)
        with eval_mode(self):
            dev = next(self.parameters()).device
            _, weights = self.pool_all(images.to(dev), temperature=temperature)
        return weights[:, query].to(images.device)


READOUTS = ("flatten", "max")
"""The readouts a :class:`ReadoutCNN` can have: the comparators of chapter 4's heads.

``"flatten"``: the feature grid flattened and read by one linear layer, one weight per
position *and* channel (the ordinary learned weights of a CNN's classifier);
``"max"``: global max pooling, each channel's largest value over the grid."""


class ReadoutCNN(nn.Module):
    """Backbone + a readout without a pooling map: N images -> N bird logits.

    The comparators of :class:`PooledCNN`'s heads on the same :class:`Backbone`:

    - ``"flatten"``: z = sum_{c, i, j} W[c, i, j] f[c, i, j] + b, a learned weight for
      every channel at every grid cell (C h w + 1 = 2,305 numbers for a 64 x 6 x 6
      grid): weights fixed to positions, like the mask, but per channel;
    - ``"max"``: z = w . max_{i, j} f[:, i, j] + b, each channel's largest value over
      the grid (C + 1 = 65 numbers): no weight over positions at all.

    Args:
        readout: ``"flatten"`` or ``"max"``.
        size: image height and width (48); fixes the grid (size / 8) for the flatten.
        backbone: a :class:`Backbone` to share with other heads (one is built
            otherwise).
        padding: the backbone's padding when it is built here.
    """

    def __init__(
        self,
        readout: str = "flatten",
        *,
        size: int = 48,
        backbone: Backbone | None = None,
        padding: str = "circular",
    ):
        super().__init__()
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
        self.readout = readout
        """The readout, one of :data:`READOUTS` ("flatten" or "max")."""
        self.backbone = backbone if backbone is not None else Backbone(padding=padding)
        """The :class:`Backbone`, (N, 3, H, W) images -> (N, C, h, w) region features."""
        self.grid = self.backbone.grid_for(size)
        """(h, w), the grid of regions the backbone gives ((6, 6) for 48x48)."""
        c = self.backbone.out_channels
        inputs = c * self.grid[0] * self.grid[1] if readout == "flatten" else c
        self.classifier = nn.Linear(inputs, 1)
        """Linear C h w -> 1 (``"flatten"``) or C -> 1 (``"max"``)."""

    def logits_from_features(self, f: torch.Tensor) -> torch.Tensor:
        """(N, 1) logits from backbone features (N, C, h, w) (heads that share a
        backbone compute its features once per batch, see ``helpers.train.fit``)."""
        if tuple(f.shape[-2:]) != self.grid:
            raise ValueError(
                f"features of a {tuple(f.shape[-2:])} grid; this model was built for "
                f"{self.grid}"
            )
        read = f.flatten(1) if self.readout == "flatten" else f.amax(dim=(2, 3))
        return self.classifier(read)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float images -> (N,) bird logits (positive = bird)."""
        return self.logits_from_features(self.backbone(_check_images(images)))[:, 0]


POSITIONS = ("learned", "none")
"""The positional embeddings a :class:`ViT` can have: one learned vector per token
position (``"learned"``, Dosovitskiy et al. 2021), or none at all (``"none"``: the
patches are a bag, the model cannot tell where a patch was)."""
STEMS = ("patches", "conv")
"""How a :class:`ViT` turns an image into tokens: cut into 8x8 patches, each flattened
and mapped linearly (``"patches"``, a pure ViT), or chapter 4's convolutional
:class:`Backbone` whose 6x6 grid of features are the tokens (``"conv"``, a hybrid)."""


class Block(nn.Module):
    """One transformer layer (pre-norm): self-attention, then a per-token MLP.

    Tokens (N, T, dim) -> (N, T, dim) and the attention weights (N, heads, T, T)::

        x = x + MultiHeadSelfAttention(LayerNorm(x))
        x = x + W2 GELU(W1 LayerNorm(x))          the same MLP for every token

    Args:
        dim: the tokens' width.
        heads: attention heads (``dim`` must be divisible by it).
        hidden: the width of the per-token MLP.
    """

    def __init__(self, dim: int, heads: int, hidden: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attention = MultiHeadSelfAttention(dim, heads)
        """The layer's :class:`helpers.attention.MultiHeadSelfAttention`."""
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens (N, T, dim) -> (tokens (N, T, dim), weights (N, heads, T, T))."""
        mixed, weights = self.attention(self.norm1(x))
        x = x + mixed
        return x + self.mlp(self.norm2(x)), weights


class ViT(nn.Module):
    """A tiny vision transformer: N images (3, 48, 48) -> N bird logits.

    The image becomes a 6x6 grid of tokens (its 8x8 patches, or the conv stem's grid
    cells), read left to right, top to bottom. A learned class token is put in front
    (token 0), a positional embedding (if any) is added, and ``depth`` transformer
    :class:`Block` layers mix the T = 37 tokens. The bird logit is read from the class
    token alone::

        x_0 = [c; E(patch_1); ...; E(patch_36)] + P       (N, 37, dim)
        x_l = Block_l(x_{l-1})                             l = 1 .. depth
        z   = w . LayerNorm(x_depth[:, 0]) + b             (N,)

    The class token starts as a learned vector, the same for every image; the first
    layer mixes this image into it, so in the last layer its query is computed from the
    image, and its row of attention is a weighting of the patches computed from this
    image, used to pool them, like chapter 4's attention pooling.

    ``ViT()`` is chapter 5's model, the *hybrid* of Dosovitskiy et al. (2021): its
    tokens are the cells of chapter 4's convolutional backbone (circular padding),
    each mapped to ``dim`` features. ``ViT(stem="patches")`` is the pure ViT, each
    token a linear map of one 8x8 patch's pixels: with 6,000 cluttered scenes it does
    not learn chapter 4's task in the budget, the hybrid does.

    Args:
        size: image height and width (48); a multiple of the patch (8).
        dim: the tokens' width.
        depth: the number of transformer layers.
        heads: attention heads per layer.
        hidden: the width of each layer's per-token MLP.
        position: ``"learned"`` or ``"none"`` (see :data:`POSITIONS`).
        stem: ``"conv"`` (hybrid, the default) or ``"patches"`` (pure ViT); see
            :data:`STEMS`.
    """

    patch = 8
    """The side of one patch (one token) in pixels."""

    def __init__(
        self,
        *,
        size: int = 48,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        hidden: int = 128,
        position: str = "learned",
        stem: str = "conv",
    ):
        super().__init__()
        if position not in POSITIONS:
            raise ValueError(f"position must be one of {POSITIONS}, got {position!r}")
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")
        for name, value in (("size", size), ("depth", depth), ("hidden", hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if size % self.patch:
            raise ValueError(f"size must be a multiple of {self.patch}, got {size}")
        self.position = position
        """The positional embedding's kind, one of :data:`POSITIONS`."""
        self.stem = stem
        """How images become tokens, one of :data:`STEMS`."""
        self.grid = (size // self.patch, size // self.patch)
        """(h, w), the grid of patch tokens ((6, 6) for 48x48 images)."""
        tokens = self.grid[0] * self.grid[1]
        if stem == "patches":
            self.embed = nn.Conv2d(3, dim, self.patch, stride=self.patch)
        else:
            backbone = Backbone()
            self.embed = nn.Sequential(backbone, nn.Conv2d(backbone.out_channels, dim, 1))
        self.cls = nn.Parameter(torch.zeros(1, 1, dim))
        """The class token c (1, 1, dim), learned: the same vector for every image."""
        if position == "learned":
            self.pos = nn.Parameter(torch.zeros(1, tokens + 1, dim))
        self.blocks = nn.ModuleList(Block(dim, heads, hidden) for _ in range(depth))
        """The transformer layers, in order."""
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, 1)
        self.reset_own_parameters()

    def reset_own_parameters(self) -> None:
        """Draw the class token and positional embeddings (normal, std 0.02)."""
        with torch.no_grad():
            self.cls.normal_(0.0, 0.02)
            if self.position == "learned":
                self.pos.normal_(0.0, 0.02)

    def tokens(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images -> (N, T, dim) tokens x_0: class token first, then the
        grid's cells row by row, with the positional embedding added."""
        images = _check_images(images)
        grid = tuple(images.shape[-2:])
        if grid != (self.grid[0] * self.patch, self.grid[1] * self.patch):
            raise ValueError(
                f"this ViT was built for {self.grid[0] * self.patch}x"
                f"{self.grid[1] * self.patch} images, got {grid}"
            )
        if images.dtype != self.cls.dtype:
            raise TypeError(f"images must be {self.cls.dtype}, got {images.dtype}")
        patches = self.embed(images).flatten(2).transpose(1, 2)  # (N, 36, dim)
        x = torch.cat([self.cls.expand(len(images), -1, -1), patches], dim=1)
        return x + self.pos if self.position == "learned" else x

    def run(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Logits (N,) and every layer's attention (N, depth, heads, T, T)."""
        x = self.tokens(images)
        maps = []
        for block in self.blocks:
            x, weights = block(x)
            maps.append(weights)
        logits = self.head(self.norm(x[:, 0]))[:, 0]
        return logits, torch.stack(maps, dim=1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) float images -> (N,) bird logits (positive = bird)."""
        return self.run(images)[0]

    @torch.no_grad()
    def attention_maps(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        """(N, depth, heads, T, T) attention weights in eval mode, on ``images``' device.

        Entry [n, l, h, i, j] is how much token i takes from token j in head h of
        layer l (token 0 is the class token, then the grid row by row); each row sums
        to 1."""
        images = _check_images(images)
        dev = self.cls.device
        with eval_mode(self):
            maps = [
                self.run(images[i : i + batch_size].to(dev))[1].to(images.device)
                for i in range(0, len(images), batch_size)
            ]
        if not maps:
            t = self.grid[0] * self.grid[1] + 1
            heads = self.blocks[0].attention.heads
            return images.new_zeros((0, len(self.blocks), heads, t, t))
        return torch.cat(maps)

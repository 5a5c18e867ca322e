"""The course's explorers: a live widget in JupyterLab, a static player in the book.

One framework, one module per thing explored (its chapter in its docstring):

- :mod:`~helpers.explorers.framework`: the :class:`~helpers.explorers.framework.Explorer`
  object, the :func:`~helpers.explorers.framework.build` that wires controls to a live
  view, the bird's sliders and sweep, the static player, a blitting view;
- :mod:`~helpers.explorers.png`: arrays -> PNGs, fast enough for every slider move;
- :mod:`~helpers.explorers.maps`: maps over an image, static and live (chapters 4-6);
- :mod:`~helpers.explorers.scene` (chapter 0): move, resize and clutter a bird;
- :mod:`~helpers.explorers.gradient_descent` (chapter 1): nudge one weight; SGD steps;
- :mod:`~helpers.explorers.depth` (chapter 2): initialisation at depth;
- :mod:`~helpers.explorers.mlp_saliency` (chapter 2): an MLP's saliency and weights;
- :mod:`~helpers.explorers.filters` (chapter 3): what a learned filter responds to;
- :mod:`~helpers.explorers.class_activation` (chapter 3): feature maps and the CAM;
- :mod:`~helpers.explorers.pooling_heads` (chapter 4): the three heads, temperature,
  two queries, training epochs;
- :mod:`~helpers.explorers.vit_attention` (chapter 5): where each token looks;
- :mod:`~helpers.explorers.every_model` (chapter 6): every model's map of one bird.

Import an explorer from its module, e.g.
``from helpers.explorers.scene import scene_explorer``.
"""

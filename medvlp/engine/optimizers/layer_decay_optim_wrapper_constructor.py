# Copyright (c) medvlp contributors. All rights reserved.
"""Layer-wise learning-rate decay for any model whose backbone knows its layer depths."""
from typing import Callable, List, Optional, Tuple

from mmpretrain.engine.optimizers import LearningRateDecayOptimWrapperConstructor
from torch import nn

from medvlp.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class LayerDecayOptimWrapperConstructor(LearningRateDecayOptimWrapperConstructor):
    """mmpretrain's layer-decay constructor, for classifiers and mmseg segmentors alike.

    mmseg's ``LearningRateDecayOptimizerConstructor`` only knows mmseg's own backbones
    (it raises ``NotImplementedError`` for ``mmpretrain.VisionTransformer``), and
    mmpretrain's needs a ``get_layer_depth`` on the model, which mmseg's
    ``EncoderDecoder`` lacks. This one asks the model first and otherwise the module under
    ``backbone_key``, so parameters ``backbone.layers.i.*`` get depth ``i + 1``, the patch
    embedding, class token and position embedding depth 0, and everything else (necks,
    decode and auxiliary heads, the final norm) the top depth. A parameter at depth ``d``
    of ``D`` gets ``lr = base_lr * layer_decay_rate ** (D - d - 1)``.

    Config (any scope)::

        optim_wrapper = dict(
            optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
            constructor='medvlp.LayerDecayOptimWrapperConstructor',
            paramwise_cfg=dict(layer_decay_rate=0.65, norm_decay_mult=0.0,
                               flat_decay_mult=0.0))

    The other ``paramwise_cfg`` keys are those of mmpretrain's
    ``LearningRateDecayOptimWrapperConstructor``, plus ``backbone_key``: the name of the
    child module that has ``get_layer_depth`` (default ``'backbone'``).

    Args:
        optim_wrapper_cfg (dict): The optimizer wrapper config.
        paramwise_cfg (dict, optional): Parameter-wise options, ``layer_decay_rate``
            included. Defaults to None.
    """

    def layer_depth_fn(self, model: nn.Module) -> Callable[[str], Tuple[int, int]]:
        """The ``param_name -> (depth, num_depths)`` function for ``model``."""
        if hasattr(model, 'get_layer_depth'):
            return model.get_layer_depth
        key = self.paramwise_cfg.get('backbone_key', 'backbone')
        backbone = getattr(model, key, None)
        if backbone is None or not hasattr(backbone, 'get_layer_depth'):
            raise NotImplementedError(
                f'layer-wise lr decay needs {type(model).__name__}.get_layer_depth or a '
                f'"{key}" module with get_layer_depth (mmpretrain ViTs have '
                f'it); {type(backbone).__name__} has not')
        return lambda name: backbone.get_layer_depth(name, key + '.')

    def add_params(self,
                   params: List[dict],
                   module: nn.Module,
                   prefix: str = '',
                   get_layer_depth: Optional[Callable] = None,
                   **kwargs) -> None:
        if get_layer_depth is None:
            get_layer_depth = self.layer_depth_fn(module)
        super().add_params(params, module, prefix=prefix, get_layer_depth=get_layer_depth,
                           **kwargs)

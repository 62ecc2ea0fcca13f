# Copyright (c) medvlp contributors. All rights reserved.
"""medvlp's models: backbones, text encoders, heads, mask generators, necks, losses and
algorithms, each registered in :data:`medvlp.registry.MODELS`."""
from .algorithms import *  # noqa: F401,F403
from .classifiers import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .mask_generators import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .text_encoders import *  # noqa: F401,F403
from .utils import *  # noqa: F401,F403

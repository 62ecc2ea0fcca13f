# Copyright (c) medvlp contributors. All rights reserved.
"""medvlp's models: backbones, text encoders, heads, mask generators, necks, losses and
algorithms, each registered in :data:`medvlp.registry.MODELS`."""

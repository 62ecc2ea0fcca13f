# Copyright (c) medvlp contributors. All rights reserved.
from .zero_shot import (INFERENCE_MODULES, SHIPPED_PROMPTS, ZeroShotClassifier, load_prompts,
                        unfit_weights)

__all__ = [
    'ZeroShotClassifier', 'load_prompts', 'SHIPPED_PROMPTS', 'INFERENCE_MODULES', 'unfit_weights'
]

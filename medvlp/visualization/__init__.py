# Copyright (c) medvlp contributors. All rights reserved.
from .inference import (build_model_and_test_set, load_for_visualisation,
                        sample_attention)
from .overlay import overlay_heatmap, patch_map_to_image

__all__ = [
    'build_model_and_test_set', 'load_for_visualisation', 'sample_attention', 'overlay_heatmap', 'patch_map_to_image'
]

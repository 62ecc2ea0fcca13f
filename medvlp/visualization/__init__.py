# Copyright (c) medvlp contributors. All rights reserved.
from .overlay import overlay_heatmap, patch_map_to_image

__all__ = ['overlay_heatmap', 'patch_map_to_image']

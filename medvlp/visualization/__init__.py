# Copyright (c) medvlp contributors. All rights reserved.
from .figures import (choose_words, draw_report_masks, draw_word_attention, mask_generators,
                      report_masks)
from .overlay import overlay_heatmap, patch_map_to_image
from .segmentation import SegOverlayHook, draw_mask_contours

__all__ = [
    'overlay_heatmap', 'patch_map_to_image', 'choose_words', 'draw_word_attention',
    'draw_report_masks', 'mask_generators', 'report_masks', 'SegOverlayHook',
    'draw_mask_contours'
]

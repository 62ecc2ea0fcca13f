# Copyright (c) medvlp contributors. All rights reserved.
from .data_preprocessor import CXRDataPreprocessor
from .gather import gather_batches, world_size
from .token_masking import corrupt_tokens, select_masked_tokens
from .visible_encoding import encode_visible_patches, mask_to_ids_restore

__all__ = [
    'CXRDataPreprocessor', 'gather_batches', 'world_size', 'corrupt_tokens', 'select_masked_tokens', 'encode_visible_patches', 'mask_to_ids_restore'
]

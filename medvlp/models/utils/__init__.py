# Copyright (c) medvlp contributors. All rights reserved.
from .token_masking import corrupt_tokens, select_masked_tokens

__all__ = ['corrupt_tokens', 'select_masked_tokens']

# Copyright (c) medvlp contributors. All rights reserved.
from .psa_head import ContiguousPSAHead

__all__ = ['ContiguousPSAHead']

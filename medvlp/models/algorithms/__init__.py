# Copyright (c) medvlp contributors. All rights reserved.
from .joimternet import JoImTeRNet

__all__ = ['JoImTeRNet']

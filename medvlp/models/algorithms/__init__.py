# Copyright (c) medvlp contributors. All rights reserved.
from .joimternet import JoImTeRNet
from .mrm import MRM

__all__ = ['JoImTeRNet', 'MRM']

# Copyright (c) medvlp contributors. All rights reserved.
from .joimternet import JoImTeRNet
from .medim import MedIM
from .mrm import MRM

__all__ = ['JoImTeRNet', 'MedIM', 'MRM']

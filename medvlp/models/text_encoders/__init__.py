# Copyright (c) medvlp contributors. All rights reserved.
from .bert_text_encoder import BertTextEncoder, pool_words

__all__ = ['BertTextEncoder', 'pool_words']

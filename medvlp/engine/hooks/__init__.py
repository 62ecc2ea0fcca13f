# Copyright (c) medvlp contributors. All rights reserved.
from .checkpoint_digest_hook import CheckpointDigestHook
from .non_finite_loss_hook import NonFiniteLossHook

__all__ = ['CheckpointDigestHook', 'NonFiniteLossHook']

# Copyright (c) medvlp contributors. All rights reserved.
from .checkpoint_digest_hook import CheckpointDigestHook
from .non_finite_loss_hook import NonFiniteLossHook
from .rng_state_hook import RNGStateHook, get_rng_state, set_rng_state

__all__ = [
    'CheckpointDigestHook', 'NonFiniteLossHook', 'RNGStateHook', 'get_rng_state', 'set_rng_state'
]

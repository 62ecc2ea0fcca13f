# Copyright (c) medvlp contributors. All rights reserved.
from .checkpoint import allow_checkpoint_globals, load_checkpoint_file
from .cli import (TrainingError, UserError, add_common_args, apply_runner_args, check_checkpoint,
                  load_config, report_user_errors, set_local_rank)
from .dist import setup_cpu_distributed
from .setup_env import register_all_modules

__all__ = [
    'allow_checkpoint_globals', 'load_checkpoint_file', 'TrainingError', 'UserError', 'add_common_args',
    'apply_runner_args', 'check_checkpoint', 'load_config', 'report_user_errors',
    'set_local_rank', 'setup_cpu_distributed', 'register_all_modules'
]

# Copyright (c) medvlp contributors. All rights reserved.
"""medvlp's registries.

Every registry is a child of the matching mmengine root registry, so components of other
OpenMMLab projects are reachable with a scope prefix (``type='mmpretrain.MAEViT'``) from a
medvlp config, and medvlp components are reachable as ``type='medvlp.X'`` from an mmseg or
mmpretrain config. ``locations`` lets the registries import medvlp's modules lazily the first
time a name is looked up, so ``medvlp.registry`` alone is enough to build anything medvlp
registers.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import \
    OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import \
    RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import \
    WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

__all__ = [
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'LOG_PROCESSORS',
    'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS',
    'PARAM_SCHEDULERS', 'DATASETS', 'DATA_SAMPLERS', 'TRANSFORMS', 'MODELS',
    'MODEL_WRAPPERS', 'WEIGHT_INITIALIZERS', 'TASK_UTILS', 'METRICS',
    'EVALUATORS', 'VISUALIZERS', 'VISBACKENDS', 'TOKENIZERS', 'FUNCTIONS'
]

#######################################################################
#                         medvlp.engine                               #
#######################################################################
RUNNERS = Registry(
    'runner', parent=MMENGINE_RUNNERS, locations=['medvlp.engine'])
RUNNER_CONSTRUCTORS = Registry(
    'runner constructor',
    parent=MMENGINE_RUNNER_CONSTRUCTORS,
    locations=['medvlp.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, locations=['medvlp.engine'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, locations=['medvlp.engine'])
LOG_PROCESSORS = Registry(
    'log processor',
    parent=MMENGINE_LOG_PROCESSORS,
    locations=['medvlp.engine'])
OPTIMIZERS = Registry(
    'optimizer', parent=MMENGINE_OPTIMIZERS, locations=['medvlp.engine'])
OPTIM_WRAPPERS = Registry(
    'optim_wrapper',
    parent=MMENGINE_OPTIM_WRAPPERS,
    locations=['medvlp.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry(
    'optimizer wrapper constructor',
    parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS,
    locations=['medvlp.engine'])
PARAM_SCHEDULERS = Registry(
    'parameter scheduler',
    parent=MMENGINE_PARAM_SCHEDULERS,
    locations=['medvlp.engine'])

#######################################################################
#                        medvlp.datasets                              #
#######################################################################
DATASETS = Registry(
    'dataset', parent=MMENGINE_DATASETS, locations=['medvlp.datasets'])
DATA_SAMPLERS = Registry(
    'data sampler',
    parent=MMENGINE_DATA_SAMPLERS,
    locations=['medvlp.datasets'])
# collate functions (``train_dataloader.collate_fn``)
FUNCTIONS = Registry(
    'function', parent=MMENGINE_FUNCTIONS, locations=['medvlp.datasets'])
TRANSFORMS = Registry(
    'transform',
    parent=MMENGINE_TRANSFORMS,
    locations=['medvlp.datasets.transforms'])

#######################################################################
#                          medvlp.models                              #
#######################################################################
MODELS = Registry('model', parent=MMENGINE_MODELS, locations=['medvlp.models'])
MODEL_WRAPPERS = Registry(
    'model_wrapper',
    parent=MMENGINE_MODEL_WRAPPERS,
    locations=['medvlp.models'])
WEIGHT_INITIALIZERS = Registry(
    'weight initializer',
    parent=MMENGINE_WEIGHT_INITIALIZERS,
    locations=['medvlp.models'])
TASK_UTILS = Registry(
    'task util', parent=MMENGINE_TASK_UTILS, locations=['medvlp.models'])

#######################################################################
#                        medvlp.evaluation                            #
#######################################################################
METRICS = Registry(
    'metric', parent=MMENGINE_METRICS, locations=['medvlp.evaluation'])
EVALUATORS = Registry(
    'evaluator', parent=MMENGINE_EVALUATOR, locations=['medvlp.evaluation'])

#######################################################################
#                      medvlp.visualization                           #
#######################################################################
VISUALIZERS = Registry(
    'visualizer',
    parent=MMENGINE_VISUALIZERS,
    locations=['medvlp.visualization'])
VISBACKENDS = Registry(
    'vis_backend',
    parent=MMENGINE_VISBACKENDS,
    locations=['medvlp.visualization'])

#######################################################################
#                           medvlp.text                               #
#######################################################################
# Tokenizers have no mmengine root registry; this one is medvlp's own.
TOKENIZERS = Registry('tokenizer', locations=['medvlp.text'])

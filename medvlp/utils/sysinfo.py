# Copyright (c) medvlp contributors. All rights reserved.
"""A one-line description of the machine, printed next to every benchmark figure."""
import os
import platform


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), or what ``platform`` knows."""
    try:
        with open('/proc/cpuinfo', encoding='utf-8') as f:
            for line in f:
                if line.lower().startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or 'unknown CPU'


def machine_summary() -> str:
    """E.g. ``Intel(R) Xeon(R) Processor, 2 CPUs usable (2 online), torch 2.14.1 with
    1 thread, no CUDA``: what a speed figure depends on."""
    import torch
    usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') \
        else os.cpu_count()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA'
    return (f'{cpu_model()}, {usable} CPUs usable ({os.cpu_count()} online), torch '
            f'{torch.__version__} with {torch.get_num_threads()} thread(s), {gpu}')

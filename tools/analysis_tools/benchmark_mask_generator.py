# Copyright (c) medvlp contributors. All rights reserved.
"""Time ReportGuidedMaskGenerator per call, for ViT-B/16 shapes by default.

The inputs are synthetic but shaped like a training batch: ``B`` reports of up to
``W`` words (60-100 % of them real words, the rest padding), sentences of 6-14 words,
about 10 % keyword words of which a fifth are negated, and softmax attention of every
word over ``P`` patches. Each configuration is called ``--warmup`` times, then timed over
``--repeats`` rounds of ``--calls`` calls; the median (and the spread of the rounds) is
printed per call. With ``--step-ms`` (the time of one training step, measured
elsewhere) the median is also given as a percentage of that step.

Example::

    python tools/analysis_tools/benchmark_mask_generator.py --step-ms 450
    python tools/analysis_tools/benchmark_mask_generator.py --rules all --threads 2
"""
import argparse
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
from medvlp.utils.sysinfo import machine_summary  # noqa: E402

RULES = {
    'median': dict(type='MedianSplitMaskRule', high_ratio=0.9, low_ratio=0.1),
    'topk': dict(type='TopKMaskRule', mask_ratio=0.5),
    'sampled': dict(type='SampledMaskRule', mask_ratio=0.5, temperature=1.0),
    'random': dict(type='RandomMaskRule', mask_ratio=0.5),
}


def make_batch(batch: int, words: int, patches: int, device: str,
               seed: int = 0) -> Dict[str, torch.Tensor]:
    """Synthetic generator inputs (see the module docstring)."""
    gen = torch.Generator().manual_seed(seed)
    lengths = (words * (0.6 + 0.4 * torch.rand(batch, generator=gen))).long()
    position = torch.arange(words)[None].expand(batch, -1)
    sentence_len = torch.randint(6, 15, (batch, 1), generator=gen)
    sentence_ids = torch.div(position, sentence_len, rounding_mode='floor')
    sentence_ids = sentence_ids.masked_fill(position >= lengths[:, None], -1)
    keyword = (torch.rand(batch, words, generator=gen) < 0.1) & (sentence_ids >= 0)
    negated = keyword & (torch.rand(batch, words, generator=gen) < 0.2)
    attention = torch.softmax(4 * torch.randn(batch, words, patches, generator=gen), -1)
    attention = attention * (sentence_ids >= 0)[..., None]
    batch_inputs = dict(attention=attention, word_keyword=keyword,
                        word_sentence_ids=sentence_ids, word_negated=negated)
    return {k: v.to(device) for k, v in batch_inputs.items()}


def time_calls(fn, warmup: int, repeats: int, calls: int, device: str) -> List[float]:
    """Milliseconds per call of each of ``repeats`` rounds of ``calls`` calls."""
    sync = torch.cuda.synchronize if device.startswith('cuda') else (lambda: None)
    for _ in range(warmup):
        fn()
    sync()
    rounds = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        sync()
        rounds.append((time.perf_counter() - start) * 1e3 / calls)
    return rounds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch', type=int, default=64, help='B (default: 64)')
    parser.add_argument('--words', type=int, default=128, help='W (default: 128)')
    parser.add_argument('--patches', type=int, default=196,
                        help='P (default: 196, ViT-B/16 at 224 px)')
    parser.add_argument('--modes', nargs='+', default=['kwm', 'sdm'], choices=['kwm', 'sdm'])
    parser.add_argument('--rules', nargs='+', default=['median'],
                        choices=list(RULES) + ['all'], help='mask rules to time '
                        '(default: median, MedIM\'s)')
    parser.add_argument('--device', default='cpu', help='torch device (default: cpu)')
    parser.add_argument('--threads', type=int, default=1,
                        help='torch CPU threads (default: 1, as beside a training step)')
    parser.add_argument('--warmup', type=int, default=10)
    parser.add_argument('--repeats', type=int, default=7, help='timed rounds (default: 7)')
    parser.add_argument('--calls', type=int, default=20, help='calls per round (default: 20)')
    parser.add_argument('--step-ms', type=float, default=None,
                        help='time of one training step in ms, to express the cost in %%')
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    from medvlp.models.mask_generators import ReportGuidedMaskGenerator

    rules = list(RULES) if 'all' in args.rules else args.rules
    inputs = make_batch(args.batch, args.words, args.patches, args.device)
    print(f'machine: {machine_summary()}')  # the figures below depend on it
    print(f'ReportGuidedMaskGenerator, B={args.batch} W={args.words} P={args.patches}, '
          f'device={args.device}, torch threads={torch.get_num_threads()}, '
          f'torch {torch.__version__}')
    header = f'  {"mode":<5} {"rule":<8} {"median ms/call":>15} {"min-max":>15}'
    if args.step_ms:
        header += f' {"% of step":>10}'
    print(header)
    for mode in args.modes:
        for rule in rules:
            generator = ReportGuidedMaskGenerator(
                mode=mode, mask_rule=RULES[rule], log_interval=10**9).to(args.device)
            seed = torch.Generator(device=args.device).manual_seed(0)
            rounds = time_calls(lambda: generator(**inputs, generator=seed), args.warmup,
                                args.repeats, args.calls, args.device)
            median = statistics.median(rounds)
            line = (f'  {mode:<5} {rule:<8} {median:15.3f} '
                    f'{f"{min(rounds):.3f}-{max(rounds):.3f}":>15}')
            if args.step_ms:
                line += f' {100 * median / args.step_ms:9.2f}%'
            print(line)


if __name__ == '__main__':
    main()

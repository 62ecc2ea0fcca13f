# Copyright (c) medvlp contributors. All rights reserved.
"""Training throughput of every algorithm next to plain MAE: img/s, FLOPs, MFU, memory.

    python tools/analysis_tools/benchmark_train.py [--size full|tiny] [--batch-size 64]
        [--iters 10] [--device cuda] [--amp] [--compile] [--channels-last]
        [--peak-tflops 989] [--find-max-batch] [--models mrm medim-features ...]
        [--profile DIR] [--markdown]

For each algorithm (MRM, MedIM with the mask on features and on inputs, JoImTeRNet) and
for mmpretrain's MAE on the same ViT, on synthetic images and reports of the configured
size, one run measures:

* ``step ms`` and ``img/s``: full training steps (forward, backward, AdamW) after warm-up;
* ``GFLOP/img``: model FLOPs of forward + backward per image (``torch.utils.flop_counter``);
* ``vs MAE``: (step-time ratio) / (FLOP ratio) against MAE; 1.0 means the algorithm spends
  as much time per FLOP as MAE, above 1 it is less efficient;
* ``MFU``: achieved FLOP/s over ``--peak-tflops`` (default: the GPU's dense bf16/fp16
  peak when known; none on CPU);
* ``syncs``: host-device synchronisations in one forward + backward
  (``HostSyncCounter``; the optimizer step is not counted);
* ``peak MiB``: ``torch.cuda.max_memory_allocated`` (GPU only);
* ``max batch``: with ``--find-max-batch`` (GPU only), the largest batch that fits.

``--profile DIR`` then records ``--profile-steps`` more steps of each model with
``torch.profiler`` (CPU, and CUDA on a GPU), writes each trace to ``DIR/<model>.json.gz``
(open it in Perfetto or ``chrome://tracing``) and prints, per model, how much of a step
the GPU's kernels fill (well below 100 % means the host, not the GPU, limits the step),
the kernels that take the most device time and the operators that take the most CPU
time (on the CPU, only the operators).
``--markdown`` also prints the rows of the GPU table in ``docs/en/benchmarks.md``.

``--size full`` (default on a GPU) uses the MIMIC configs (ViT-B/16, 224 px, 64-word
reports); ``--size tiny`` (default on CPU) the demo configs (a 4-layer 96-d ViT, 96 px),
which run in seconds.
"""
import argparse
import copy
import gc
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch.utils.flop_counter import FlopCounterMode

from medvlp.benchmark.runner import code_version
from medvlp.registry import MODELS
from medvlp.utils import register_all_modules
from medvlp.utils.host_sync import HostSyncCounter
from medvlp.utils.sysinfo import machine_summary
from medvlp.utils.synthetic import mae_config_like, synthetic_image_report_batch

CONFIGS = {
    'full': {
        'mrm': 'configs/mrm/mrm_vit-b_mimic.py',
        'medim-features': 'configs/medim_vit-b_mimic.py',
        'medim-inputs': 'configs/medim_vit-b_mimic.py',
        'joimternet': 'configs/joimternet/joimternet_vit-b-p16_8xb32-50e_mimic.py',
    },
    'tiny': {
        'mrm': 'configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py',
        'medim-features': 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py',
        'medim-inputs': 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py',
        'joimternet': 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py',
    },
}
MAE = 'mae'
#: Dense bf16/fp16 tensor-core peaks (TFLOP/s) by device-name fragment.
KNOWN_PEAKS = {'H200': 989., 'H100': 989., 'A100': 312., 'L40S': 362., 'A10': 125.,
               'V100': 125., 'RTX 3080 Ti': 136., 'RTX 4090': 165.}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    gpu = torch.cuda.is_available()
    parser.add_argument('--device', default='cuda' if gpu else 'cpu')
    parser.add_argument('--size', choices=sorted(CONFIGS), default=None,
                        help='model size (default: full on a GPU, tiny on CPU)')
    parser.add_argument('--models', nargs='+', default=None,
                        help=f'subset of {sorted(CONFIGS["full"]) + [MAE]}')
    parser.add_argument('--batch-size', type=int, default=None,
                        help='default: 64 (full), 4 (tiny)')
    parser.add_argument('--iters', type=int, default=None, help='timed steps per model')
    parser.add_argument('--warmup', type=int, default=None, help='untimed steps first')
    parser.add_argument('--words', type=int, default=None, help='words per report')
    parser.add_argument('--mae-mask-ratio', type=float, default=0.5)
    parser.add_argument('--amp', action='store_true', help='bf16 autocast')
    parser.add_argument('--compile', action='store_true', help='torch.compile the loss')
    parser.add_argument('--channels-last', action='store_true',
                        help='images in channels-last memory format')
    parser.add_argument('--mlm-select', choices=['auto', 'static', 'dynamic'], default='auto',
                        help="MLM heads' masked-position selection (auto: dynamic on CPU, "
                        'static, i.e. without host syncs, on accelerators)')
    parser.add_argument('--peak-tflops', type=float, default=None,
                        help='peak for MFU (default: known GPU peaks)')
    parser.add_argument('--find-max-batch', action='store_true',
                        help='search the largest batch that fits (GPU)')
    parser.add_argument('--profile', metavar='DIR',
                        help='record torch.profiler traces of each model into DIR and '
                        'print where a step spends its time')
    parser.add_argument('--profile-steps', type=int, default=3,
                        help='steps recorded per model with --profile (default: 3)')
    parser.add_argument('--top', type=int, default=12,
                        help='operators listed per model with --profile (default: 12)')
    parser.add_argument('--markdown', action='store_true',
                        help="also print the rows of docs/en/benchmarks.md's GPU table")
    args = parser.parse_args(argv)
    args.size = args.size or ('full' if args.device.startswith('cuda') else 'tiny')
    full = args.size == 'full'
    args.batch_size = args.batch_size or (64 if full else 4)
    args.iters = args.iters or (10 if full else 2)
    args.warmup = args.warmup if args.warmup is not None else (3 if full else 1)
    args.words = args.words or (64 if full else 20)
    if args.profile_steps < 1:
        parser.error('--profile-steps must be at least 1')
    models = args.models or sorted(CONFIGS[args.size]) + [MAE]
    unknown = set(models) - set(CONFIGS[args.size]) - {MAE}
    if unknown:
        parser.error(f'unknown models {sorted(unknown)}; choose from '
                     f'{sorted(CONFIGS[args.size]) + [MAE]}')
    args.models = models
    return args


def default_peak(device: str) -> Optional[float]:
    if not device.startswith('cuda') or not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name(torch.device(device))
    for fragment, peak in KNOWN_PEAKS.items():
        if fragment in name:
            return peak
    return None


def build(name: str, size: str, mae_mask_ratio: float):
    """The model of ``name`` (an algorithm, or MAE on MedIM's ViT) and its text shape."""
    if name == MAE:
        cfg = Config.fromfile(CONFIGS[size]['medim-features'])
        width = MODELS.build(copy.deepcopy(cfg.model.backbone)).embed_dims
        tiny = size == 'tiny'
        return MODELS.build(mae_config_like(
            cfg.model.backbone, width, mask_ratio=mae_mask_ratio,
            decoder_dims=64 if tiny else 512, decoder_depth=1 if tiny else 8,
            decoder_heads=2 if tiny else 16))
    cfg = Config.fromfile(CONFIGS[size][name])
    model_cfg = copy.deepcopy(cfg.model)
    if name == 'medim-inputs':
        backbone = MODELS.build(copy.deepcopy(model_cfg.backbone))
        img, patch = model_cfg.backbone.img_size, model_cfg.backbone.get('patch_size', 16)
        model_cfg.mask_on = 'inputs'
        dims = 64 if size == 'tiny' else 512
        model_cfg.decoder = dict(
            type='mmpretrain.MAEPretrainDecoder', num_patches=(img // patch)**2,
            patch_size=patch, in_chans=3, embed_dim=backbone.embed_dims,
            decoder_embed_dim=dims, decoder_depth=1 if size == 'tiny' else 8,
            decoder_num_heads=2 if size == 'tiny' else 16)
    return MODELS.build(model_cfg)


def _loss(model, data) -> torch.Tensor:
    losses = model(**data, mode='loss')
    return sum(v for k, v in losses.items() if k.startswith('loss'))


class Stepper:
    """One training step of a model on a fixed batch, with the benchmark's options."""

    def __init__(self, model, batch, args) -> None:
        self.device = args.device
        if getattr(model, 'mlm_head', None) is not None and \
                hasattr(model.mlm_head, 'select'):
            model.mlm_head.select = args.mlm_select
        self.model = model.to(args.device).train()
        self.optim = torch.optim.AdamW(model.parameters(), lr=1e-4)
        self.data = model.data_preprocessor(batch, True)
        if args.channels_last:
            self.data['inputs'] = self.data['inputs'].contiguous(
                memory_format=torch.channels_last)
        self.amp = args.amp
        if args.compile:
            model.loss = torch.compile(model.loss)

    def forward_backward(self) -> None:
        with torch.autocast(self.device.split(':')[0], dtype=torch.bfloat16,
                            enabled=self.amp):
            loss = _loss(self.model, self.data)
        loss.backward()

    def __call__(self) -> None:
        self.optim.zero_grad(set_to_none=True)
        self.forward_backward()
        self.optim.step()

    def sync(self) -> None:
        if self.device.startswith('cuda'):
            torch.cuda.synchronize()


def measure(name: str, args, vocab: int, batch_size: int) -> Dict:
    model = build(name, args.size, args.mae_mask_ratio)
    # the pipeline's image size: MRM's high-resolution target, else the encoder's input
    img_size = getattr(model, 'target_resolution', None) or model.backbone.img_size[0]
    vocab = getattr(model, 'vocab_size', vocab)
    max_length = args.words + 2
    batch = synthetic_image_report_batch(batch_size, img_size, max_length, args.words, vocab)
    step = Stepper(model, batch, args)
    with FlopCounterMode(display=False) as flops:
        step.forward_backward()
    with HostSyncCounter(record_callers=False) as syncs:
        step.forward_backward()
    step.optim.zero_grad(set_to_none=True)
    for _ in range(args.warmup):
        step()
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    step.sync()
    start = time.perf_counter()
    for _ in range(args.iters):
        step()
    step.sync()
    seconds = (time.perf_counter() - start) / args.iters
    result = dict(step_ms=1000 * seconds, img_s=batch_size / seconds,
                  gflop=flops.get_total_flops() / batch_size / 1e9, syncs=syncs.count,
                  vit_px=model.backbone.img_size[0])
    if args.device.startswith('cuda'):
        result['peak_mib'] = torch.cuda.max_memory_allocated() / 2**20
    if args.profile:
        result['profile'] = profile_steps(
            step, args.profile_steps, osp.join(args.profile, f'{name}.json.gz'))
    del step, model
    gc.collect()
    return result


def profile_steps(step: 'Stepper', steps: int, trace: str) -> Dict:
    """Record ``steps`` training steps with ``torch.profiler``; write the trace.

    Returns:
        dict: ``trace`` (the file), ``steps``, ``wall_ms`` (per step) and ``tables``:
        for ``'GPU kernels'`` (on a GPU: kernels, copies and fills, by device time) and
        ``'CPU operators'`` (by self CPU time), ``(busy ms per step, rows)`` with rows
        ``(name, calls per step, ms per step)``, most time first.
    """
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile
    cuda = step.device.startswith('cuda')
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    step.sync()
    with profile(activities=activities) as prof:
        start = time.perf_counter()
        for _ in range(steps):
            step()
        step.sync()
        wall = (time.perf_counter() - start) / steps
    os.makedirs(osp.dirname(osp.abspath(trace)), exist_ok=True)
    prof.export_chrome_trace(trace)
    events = prof.key_averages()

    def table(rows) -> tuple:
        rows = sorted(((key, count / steps, us / 1e3 / steps) for key, count, us in rows
                       if us > 0), key=lambda row: -row[2])
        return sum(ms for _, _, ms in rows), rows

    tables = {}
    if cuda:  # what torch's own table sums as the device's self time
        tables['GPU kernels'] = table(
            (e.key, e.count, e.self_device_time_total) for e in events
            if e.device_type == DeviceType.CUDA and not e.is_user_annotation)
    tables['CPU operators'] = table((e.key, e.count, e.self_cpu_time_total)
                                    for e in events if e.device_type == DeviceType.CPU)
    return dict(trace=trace, steps=steps, wall_ms=1000 * wall, tables=tables)


def format_profile(name: str, prof: Dict, top: int) -> List[str]:
    """The lines ``--profile`` prints for one model."""
    lines = [f'profile {name}: {prof["steps"]} steps, {prof["wall_ms"]:.1f} ms per step; '
             f'trace {prof["trace"]}']
    for what, (busy_ms, rows) in prof['tables'].items():
        lines.append(f'  {what}: {busy_ms:.1f} ms per step, '
                     f'{100 * busy_ms / prof["wall_ms"]:.0f} % of the step')
        lines.append(f'    {"name":48s} {"calls/step":>10s} {"ms/step":>9s} {"share":>6s}')
        for key, calls, ms in rows[:top]:
            lines.append(f'    {key[:48]:48s} {calls:10.1f} {ms:9.2f} '
                         f'{100 * ms / busy_ms:5.1f}%')
    return lines


def format_markdown(results: Dict[str, Dict], args, peak: Optional[float],
                    device: str) -> List[str]:
    """Rows of the GPU table in docs/en/benchmarks.md, for these results."""
    commit = code_version(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
    amp = 'bf16' if args.amp else 'fp32'
    options = ', '.join([amp] + (['compile'] if args.compile else [])
                        + (['channels-last'] if args.channels_last else []))
    lines = ['| GPU | algorithm | batch | img/s | MFU | peak memory | commit |',
             '| --- | --- | --- | --- | --- | --- | --- |']
    for name, r in results.items():
        mfu = f'{mfu_percent(r, peak):.1f} %' if peak else '-'
        memory = f'{r["peak_mib"] / 1024:.1f} GiB' if 'peak_mib' in r else '-'
        batch = f'{args.batch_size}' + (f' (max {r["max_batch"]})'
                                        if r.get('max_batch') else '')
        lines.append(f'| {device} | {name} ({options}) | {batch} | {r["img_s"]:.0f} | '
                     f'{mfu} | {memory} | {commit} |')
    return lines


def find_max_batch(name: str, args, vocab: int) -> Optional[int]:
    """Largest batch (doubling, then bisection) whose step does not run out of memory."""
    if not args.device.startswith('cuda'):
        return None

    def fits(batch_size: int) -> bool:
        try:
            probe = copy.copy(args)
            probe.iters, probe.warmup, probe.profile = 1, 0, None
            measure(name, probe, vocab, batch_size)
            return True
        except torch.cuda.OutOfMemoryError:
            return False
        finally:
            gc.collect()
            torch.cuda.empty_cache()

    low, high = 0, args.batch_size
    while fits(high):
        low, high = high, high * 2
        if high > 8192:
            return low
    while high - low > max(1, low // 16):
        mid = (low + high) // 2
        low, high = (mid, high) if fits(mid) else (low, mid)
    return low


def mfu_percent(result: Dict, peak: Optional[float]) -> Optional[float]:
    """Achieved model FLOP/s of a result as a percentage of ``peak`` TFLOP/s, or None."""
    return 100 * result['gflop'] * result['img_s'] / (peak * 1e3) if peak else None


def format_table(results: Dict[str, Dict], args, peak: Optional[float]) -> List[str]:
    mae = results.get(MAE)
    head = (f'{"model":16s} {"step ms":>9s} {"img/s":>8s} {"GFLOP/img":>10s} '
            f'{"vs MAE":>7s} {"MFU":>6s} {"syncs":>5s} {"peak MiB":>9s} {"max batch":>9s}')
    lines = [head]
    for name, r in results.items():
        ratio = '-'
        if mae and name != MAE:
            ratio = f'{(r["step_ms"] / mae["step_ms"]) / (r["gflop"] / mae["gflop"]):.2f}'
        mfu = f'{mfu_percent(r, peak):.1f}%' if peak else '-'
        peak_mib = f'{r["peak_mib"]:.0f}' if 'peak_mib' in r else '-'
        max_batch = str(r['max_batch']) if r.get('max_batch') else '-'
        lines.append(f'{name:16s} {r["step_ms"]:9.1f} {r["img_s"]:8.1f} {r["gflop"]:10.2f} '
                     f'{ratio:>7s} {mfu:>6s} {r["syncs"]:5d} {peak_mib:>9s} '
                     f'{max_batch:>9s}')
    return lines


def main(argv=None):
    args = parse_args(argv)
    register_all_modules(init_default_scope=False)
    peak = args.peak_tflops or default_peak(args.device)
    results = {}
    with DefaultScope.overwrite_default_scope('medvlp'):
        for name in args.models:
            start = time.perf_counter()
            results[name] = r = measure(name, args, vocab=30001, batch_size=args.batch_size)
            if args.find_max_batch:
                r['max_batch'] = find_max_batch(name, args, 30001)
            # a line per model as it ends, so a run stopped by a time limit keeps them
            print(f'benchmark_train: {name} measured in {time.perf_counter() - start:.0f} s: '
                  f'{r["step_ms"]:.1f} ms per step, {r["img_s"]:.1f} img/s, '
                  f'{r["gflop"]:.2f} GFLOP/img'
                  + (f', max batch {r["max_batch"]}' if r.get('max_batch') else ''),
                  file=sys.stderr, flush=True)
    device = torch.cuda.get_device_name() if args.device.startswith('cuda') else 'CPU'
    img = next(iter(results.values()))['vit_px']
    print(f'machine: {machine_summary()}')  # the figures below depend on it
    print(f'benchmark_train: {args.size} size, {img} px ViT input, {args.words} words, batch '
          f'{args.batch_size}, {device}, amp={"bf16" if args.amp else "off"}, '
          f'compile={args.compile}, channels_last={args.channels_last}, '
          f'peak={peak or "-"} TFLOP/s, mean of {args.iters} steps after {args.warmup}')
    for line in format_table(results, args, peak):
        print(line)
    if args.markdown:
        print('\n'.join(format_markdown(results, args, peak, device)))
    for name, r in results.items():
        if 'profile' in r:
            print('\n'.join(format_profile(name, r['profile'], args.top)))
    return results


if __name__ == '__main__':
    main()

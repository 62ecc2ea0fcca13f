# Copyright (c) medvlp contributors. All rights reserved.
"""How fast the MIMIC-CXR training loader feeds a GPU: img/s per worker, cost per stage.

    python tools/analysis_tools/benchmark_loader.py [--num-samples 200] [--workers 1 2]
        [--size 256] [--format jpeg] [--passes 5] [--baseline]

The demo's real reports and images (demo/cxr), written pre-resized to ``--size`` px on
the short side as JPEGs or, with ``--format pgm``, as binary greymaps (what
``prepare_mimic_cxr.py --resize --resized-format`` leaves; their mean file size is
printed), go through the
training pipeline of ``configs/_base_/datasets/mimic_cxr_report.py`` (LoadCXRImage with
one channel, CXRRandomResizedCrop 224 keeping one channel, TokenizeReport with 128 tokens,
PackImageReportInputs) and its loader's collate (``image_report_collate``).
``--baseline`` runs the pipeline it replaced instead (LoadCXRImage with 3 channels,
``mmpretrain.RandomResizedCrop(backend='pillow')``), for before/after figures. Threads
as in a training run (mmengine's defaults): one torch thread, OpenCV's thread pool off.
Printed:

* per stage, the CPU microseconds per sample in one process, median (min-max) over
  ``--passes`` passes over the samples, after one untimed pass (it builds the tokenizer,
  fills its word cache and reads the files into the page cache, as the first steps of a
  long run would); ``dataset fetch`` is ``get_data_info`` (the serialized record
  unpickled). The text stage is the per-sample text cost: the report's words, sentences
  and MeSH matches are read from the annotation file, only the cached word pieces are cut
  and padded here;
* samples per CPU second of the whole pipeline in one process: the rate of one core;
* for a DataLoader with each ``--workers`` count (batches of ``--batch-size``, the
  config's collate): samples/s, the CPU microseconds the workers spent per sample
  (pipeline, collate and handing the batch over; read from ``/proc`` for the persistent
  workers over ``--loader-epochs`` epochs after an untimed first one), what that makes
  per worker CPU second (the rate of one core given to one worker), and the main
  process's CPU per sample (receiving the batches).
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-samples', type=int, default=200)
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--size', type=int, default=256, help='short side of the images')
    parser.add_argument('--format', default='jpeg', choices=('jpeg', 'pgm'),
                        help='how the pre-resized images are stored (prepare_mimic_cxr.py '
                        '--resized-format)')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--passes', type=int, default=5,
                        help='timed passes of the pipeline in one process (median printed)')
    parser.add_argument('--loader-epochs', type=int, default=3,
                        help='epochs over the samples per DataLoader, the first untimed')
    parser.add_argument('--demo', default=osp.join(ROOT, 'demo', 'cxr'))
    parser.add_argument('--baseline', action='store_true',
                        help='time the previous pipeline (3-channel load, mmpretrain '
                        'RandomResizedCrop with Pillow) instead of the config\'s')
    return parser.parse_args(argv)


def write_preresized(demo: str, folder: str, size: int, num: int, fmt: str = 'jpeg') -> str:
    """Copies of the demo images (short side ``size``, stored as the converter stores
    them in format ``fmt``) and an annotation file."""
    from PIL import Image

    from medvlp.datasets.conversion import resized_suffix, save_grey_image
    with open(osp.join(demo, 'annotations.jsonl')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    out = []
    for i in range(num):
        record = dict(records[i % len(records)])
        img = Image.open(osp.join(demo, record['img_path'])).convert('L')
        scale = size / min(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)),
                         Image.BICUBIC)
        name = f'{i:05d}{resized_suffix(fmt)}'
        save_grey_image(img, osp.join(folder, name), fmt)
        record['img_path'] = name
        out.append(record)
    ann = osp.join(folder, 'annotations.jsonl')
    with open(ann, 'w') as f:
        f.writelines(json.dumps(r) + '\n' for r in out)
    return ann


#: The training pipeline before CXRRandomResizedCrop (for ``--baseline``).
BASELINE_PIPELINE = [
    dict(type='LoadCXRImage'),
    dict(type='mmpretrain.RandomResizedCrop', scale=224, crop_ratio_range=(0.6, 1.0),
         backend='pillow', interpolation='bicubic'),
    dict(type='TokenizeReport', max_length=128),
    dict(type='PackImageReportInputs'),
]


def time_stages(dataset, stages) -> tuple:
    """CPU seconds spent in each stage over the dataset, and samples per CPU second of the
    whole pass (one process, one thread: the cost on one core)."""
    spent = {'dataset fetch': 0.0}
    spent.update({name: 0.0 for name, _ in stages})
    clock = time.process_time
    start_all = clock()
    for i in range(len(dataset)):
        start = clock()
        results = dataset.get_data_info(i)
        spent['dataset fetch'] += clock() - start
        for name, transform in stages:
            start = clock()
            results = transform(results)
            spent[name] += clock() - start
    return spent, len(dataset) / (clock() - start_all)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a running process (Linux ``/proc/<pid>/stat``)."""
    with open(f'/proc/{pid}/stat') as f:
        fields = f.read().rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def time_loader(loader, epochs: int) -> dict:
    """Samples/s of ``loader`` and the CPU it costs per sample, in steady state.

    The loader keeps its workers (``persistent_workers=True``). The first epoch is not
    timed (workers forked, first batches); the others are. At the end of an epoch every
    worker is idle, so the CPU the worker processes used between the end of the first
    and of the last epoch (from ``/proc``) is exactly what their samples cost: the
    pipeline, the collate and handing the batches to the main process. The main
    process's CPU over the same time is what receiving the batches costs there.
    """
    def one_epoch():
        return sum(len(batch['data_samples']) for batch in loader)

    one_epoch()
    workers = [w.pid for w in getattr(loader._iterator, '_workers', [])]
    worker_cpu = sum(map(process_cpu_seconds, workers))
    main_cpu, start = time.process_time(), time.perf_counter()
    count = sum(one_epoch() for _ in range(epochs - 1))
    wall = time.perf_counter() - start
    main_us = 1e6 * (time.process_time() - main_cpu) / count
    worker_us = 1e6 * (sum(map(process_cpu_seconds, workers)) - worker_cpu) / count
    if workers:
        loader._iterator._shutdown_workers()
    return dict(rate=count / wall, worker_us=worker_us, main_us=main_us)


def spread(values) -> str:
    """``median (min-max)`` of a list of figures, rounded."""
    return f'{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})'


def main(argv=None):
    args = parse_args(argv)
    if args.loader_epochs < 2:
        raise SystemExit('--loader-epochs must be at least 2 (the first is not timed)')
    import cv2
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from medvlp.registry import DATASETS
    from medvlp.utils import register_all_modules
    from medvlp.utils.sysinfo import machine_summary
    register_all_modules(init_default_scope=False)
    # what a training run sets (mmengine's env_cfg defaults): one thread per process
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/mimic_cxr_report.py'))
    with tempfile.TemporaryDirectory() as folder, \
            DefaultScope.overwrite_default_scope('medvlp'):
        ann = write_preresized(args.demo, folder, args.size, args.num_samples, args.format)
        images = [name for name in os.listdir(folder) if not name.endswith('.jsonl')]
        mean_kb = sum(osp.getsize(osp.join(folder, name)) for name in images) / 1024 / \
            len(images)
        pipeline = BASELINE_PIPELINE if args.baseline else cfg.train_pipeline
        dataset_cfg = dict(type='ImageReportDataset', data_root=folder, ann_file=ann,
                           data_prefix=dict(img_path=''), pipeline=pipeline)
        # built with its pipeline, as in training: TokenizeReport caches the word pieces
        # of every record at load time
        dataset = DATASETS.build(dataset_cfg)
        stages = [(t['type'], transform)
                  for t, transform in zip(pipeline, dataset.pipeline.transforms)]
        time_stages(dataset, stages)  # warm-up: tokenizer, word cache, page cache
        passes = [time_stages(dataset, stages) for _ in range(args.passes)]
        loaders = {}
        for workers in args.workers:
            loader_cfg = dict(cfg.train_dataloader, num_workers=workers,
                              batch_size=args.batch_size, pin_memory=False,
                              dataset=dataset_cfg)
            if workers == 0:  # torch refuses these without worker processes
                loader_cfg.pop('prefetch_factor', None)
                loader_cfg.pop('persistent_workers', None)
            else:
                loader_cfg['persistent_workers'] = True
            loaders[workers] = time_loader(Runner.build_dataloader(loader_cfg, seed=0),
                                           args.loader_epochs)
    which = 'baseline (pre-CXRRandomResizedCrop)' if args.baseline else 'MIMIC training'
    kind = {'jpeg': 'JPEGs', 'pgm': 'PGMs'}[args.format]
    print(f'benchmark_loader: {args.num_samples} real demo reports, {kind} with a '
          f'{args.size} px short side ({mean_kb:.1f} KB per file), {which} pipeline, '
          f'{args.passes} timed passes; '
          f'{machine_summary()}')
    print(f'{"stage (one process)":32s} {"CPU us/sample, median (min-max)":>34s}')
    for name in passes[0][0]:
        print(f'{name:32s} {spread([1e6 * p[0][name] / len(dataset) for p in passes]):>34s}')
    print(f'{"whole pipeline, one process":32s} '
          f'{spread([p[1] for p in passes]):>34s} samples per CPU second')
    print(f'{"DataLoader":32s} {"samples/s":>10s} {"worker CPU us":>14s} '
          f'{"per worker CPU s":>17s} {"main CPU us":>12s}')
    for workers, figures in loaders.items():
        # with no worker process the main process does the work itself
        cost = figures['worker_us'] if workers else figures['main_us']
        print(f'{f"{workers} worker(s)":32s} {figures["rate"]:10.0f} '
              f'{figures["worker_us"]:14.0f} {1e6 / cost if cost else 0:17.0f} '
              f'{figures["main_us"]:12.0f}')
    return dict(stages={name: statistics.median(p[0][name] for p in passes)
                        for name in passes[0][0]},
                in_process=statistics.median(p[1] for p in passes), loader=loaders)


if __name__ == '__main__':
    main()

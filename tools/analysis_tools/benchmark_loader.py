# Copyright (c) medvlp contributors. All rights reserved.
"""How fast the MIMIC-CXR training loader feeds a GPU: img/s per worker, cost per stage.

    python tools/analysis_tools/benchmark_loader.py [--num-samples 200] [--workers 1 2]
        [--size 256] [--baseline]

The demo's real reports and images (demo/cxr), written as JPEGs pre-resized to ``--size``
px on the short side (what ``prepare_mimic_cxr.py --resize`` leaves), go through the
training pipeline of ``configs/_base_/datasets/mimic_cxr_report.py`` (LoadCXRImage with
one channel, CXRRandomResizedCrop 224, TokenizeReport with 128 tokens,
PackImageReportInputs). ``--baseline`` runs the pipeline it replaced instead
(LoadCXRImage with 3 channels, ``mmpretrain.RandomResizedCrop(backend='pillow')``), for
before/after figures. Printed:

* per stage, the mean microseconds per sample in one process, in a second pass over the
  samples (the first builds the tokenizer, fills its word cache and reads the files into
  the page cache, as the first steps of a long run would); ``dataset fetch`` is
  ``get_data_info`` (the serialized record unpickled). The text stage is the per-sample
  text cost: the report's words, sentences and MeSH matches are read from the annotation
  file, only tokenization runs here;
* samples/s of the whole pipeline in one process (per core);
* samples/s of a DataLoader with each ``--workers`` count, batches of 32, the config's
  collate, and samples/s per worker.
"""
import argparse
import json
import os
import os.path as osp
import sys
import tempfile
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, ROOT)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-samples', type=int, default=200)
    parser.add_argument('--workers', type=int, nargs='+', default=[1, 2])
    parser.add_argument('--size', type=int, default=256, help='short side of the JPEGs')
    parser.add_argument('--batch-size', type=int, default=32)
    parser.add_argument('--demo', default=osp.join(ROOT, 'demo', 'cxr'))
    parser.add_argument('--baseline', action='store_true',
                        help='time the previous pipeline (3-channel load, mmpretrain '
                        'RandomResizedCrop with Pillow) instead of the config\'s')
    return parser.parse_args(argv)


def write_preresized(demo: str, folder: str, size: int, num: int) -> str:
    """JPEG copies of the demo images (short side ``size``) and an annotation file."""
    from PIL import Image
    with open(osp.join(demo, 'annotations.jsonl')) as f:
        records = [json.loads(line) for line in f if line.strip()]
    out = []
    for i in range(num):
        record = dict(records[i % len(records)])
        img = Image.open(osp.join(demo, record['img_path'])).convert('L')
        scale = size / min(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)),
                         Image.BICUBIC)
        name = f'{i:05d}.jpg'
        img.save(osp.join(folder, name), quality=95)
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
    """Seconds spent in each stage over the dataset, and samples/s of the whole pass."""
    spent = {'dataset fetch': 0.0}
    spent.update({name: 0.0 for name, _ in stages})
    start_all = time.perf_counter()
    for i in range(len(dataset)):
        start = time.perf_counter()
        results = dataset.get_data_info(i)
        spent['dataset fetch'] += time.perf_counter() - start
        for name, transform in stages:
            start = time.perf_counter()
            results = transform(results)
            spent[name] += time.perf_counter() - start
    return spent, len(dataset) / (time.perf_counter() - start_all)


def main(argv=None):
    args = parse_args(argv)
    import torch
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import Runner

    from medvlp.registry import DATASETS
    from medvlp.utils import register_all_modules
    from medvlp.utils.sysinfo import machine_summary
    register_all_modules(init_default_scope=False)
    torch.set_num_threads(1)
    cfg = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/mimic_cxr_report.py'))
    with tempfile.TemporaryDirectory() as folder, \
            DefaultScope.overwrite_default_scope('medvlp'):
        ann = write_preresized(args.demo, folder, args.size, args.num_samples)
        pipeline = BASELINE_PIPELINE if args.baseline else cfg.train_pipeline
        dataset_cfg = dict(type='ImageReportDataset', data_root=folder, ann_file=ann,
                           data_prefix=dict(img_path=''), pipeline=pipeline)
        # built with its pipeline, as in training: TokenizeReport caches the word pieces
        # of every record at load time
        dataset = DATASETS.build(dataset_cfg)
        stages = [(t['type'], transform)
                  for t, transform in zip(pipeline, dataset.pipeline.transforms)]
        time_stages(dataset, stages)  # warm-up: tokenizer, word cache, page cache
        spent, in_process = time_stages(dataset, stages)
        rates = {}
        for workers in args.workers:
            loader_cfg = dict(cfg.train_dataloader, num_workers=workers,
                              batch_size=args.batch_size,
                              persistent_workers=False, pin_memory=False,
                              dataset=dataset_cfg)
            if workers == 0:  # torch refuses prefetch_factor without worker processes
                loader_cfg.pop('prefetch_factor', None)
            loader = Runner.build_dataloader(loader_cfg, seed=0)
            iterator = iter(loader)
            next(iterator)  # workers started, first batch out (not timed)
            start, count = time.perf_counter(), 0
            for batch in iterator:
                count += len(batch['data_samples'])
            rates[workers] = count / (time.perf_counter() - start) if count else 0.
    which = 'baseline (pre-CXRRandomResizedCrop)' if args.baseline else 'MIMIC training'
    print(f'benchmark_loader: {args.num_samples} real demo reports, JPEGs with a '
          f'{args.size} px short side, {which} pipeline; {machine_summary()}')
    print(f'{"stage":32s} {"us/sample":>10s}')
    for name, seconds in spent.items():
        print(f'{name:32s} {1e6 * seconds / len(dataset):10.0f}')
    print(f'{"whole pipeline, one process":32s} {in_process:10.0f} samples/s')
    for workers, rate in rates.items():
        print(f'{f"DataLoader, {workers} worker(s)":32s} {rate:10.0f} samples/s '
              f'({rate / max(workers, 1):.0f} per worker)')
    return dict(stages=spent, in_process=in_process, loader=rates)


if __name__ == '__main__':
    main()

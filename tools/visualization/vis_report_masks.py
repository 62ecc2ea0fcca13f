# Copyright (c) medvlp contributors. All rights reserved.
"""Write PNGs of MedIM's report-guided masks for dataset samples.

    python tools/visualization/vis_report_masks.py CONFIG CHECKPOINT --out-dir DIR \
        [--indices 0 1 2] [--seed 0]

Each PNG shows the X-ray; the KWM attention map (summed attention of the report's MeSH
words) and the KWM mask; the SDM attention map (one sentence) and the SDM mask; and below,
the report with its MeSH words in red (negated ones struck through in grey) and the
sentence SDM chose underlined in blue. Masked patches are shaded dark. A MedIM checkpoint
uses its own mask generators; any other model with an alignment head (JoImTeRNet) gets the
default KWM and SDM generators.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from medvlp.apis import load_for_visualisation, sample_attention
from medvlp.utils import report_user_errors
from medvlp.visualization import draw_report_masks


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description="Visualise MedIM's KWM and SDM masks")
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True, help='folder for the PNGs')
    parser.add_argument('--indices', type=int, nargs='+', default=[0, 1, 2, 3],
                        help='test-set samples to draw (default: the first four)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the mask draws')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides, as in tools/train.py')
    return parser.parse_args(argv)


def draw_sample(model, dataset, index: int, args) -> str:
    sample = sample_attention(model, dataset, index)
    name = osp.splitext(osp.basename(sample['record']['img_path']))[0]
    path = osp.join(args.out_dir, f'{index:04d}_{name}_masks.png')
    return draw_report_masks(model, sample, path, args.seed)


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('vis_report_masks.py'):
        model, dataset = load_for_visualisation(args.config, args.checkpoint,
                                                args.cfg_options, args.indices)
        os.makedirs(args.out_dir, exist_ok=True)
        for index in args.indices:
            print(f'vis_report_masks.py: wrote {draw_sample(model, dataset, index, args)}')


if __name__ == '__main__':
    main()

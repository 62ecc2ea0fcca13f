# Copyright (c) medvlp contributors. All rights reserved.
"""Write PNGs showing where report words attend on their X-ray.

    python tools/visualization/vis_word_attention.py CONFIG CHECKPOINT --out-dir DIR \
        [--indices 0 1 2] [--words effusion pneumothorax] [--max-words 4]

For each sample of the config's test set (``--indices``), the model's region-word
alignment head gives the attention of every report word over the image regions. One PNG
per sample shows the X-ray and one overlay per word: the words given by ``--words`` that
occur in the report, else the report's MeSH terms, else the words with the most focused
attention.
"""
import argparse
import os
import os.path as osp

from mmengine.config import DictAction

from medvlp.apis import load_for_visualisation, sample_attention
from medvlp.utils import report_user_errors
from medvlp.visualization import draw_word_attention


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Visualise word-to-region attention')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True, help='folder for the PNGs')
    parser.add_argument('--indices', type=int, nargs='+', default=[0, 1, 2, 3],
                        help='test-set samples to draw (default: the first four)')
    parser.add_argument('--words', nargs='+', help='words to show when the report has them')
    parser.add_argument('--max-words', type=int, default=4, help='overlays per sample')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides, as in tools/train.py')
    return parser.parse_args(argv)


def draw_sample(model, dataset, index: int, args) -> str:
    sample = sample_attention(model, dataset, index)
    name = osp.splitext(osp.basename(sample['record']['img_path']))[0]
    path = osp.join(args.out_dir, f'{index:04d}_{name}_attention.png')
    return draw_word_attention(sample, path, args.words, args.max_words)


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('vis_word_attention.py'):
        model, dataset = load_for_visualisation(args.config, args.checkpoint,
                                                args.cfg_options, args.indices)
        os.makedirs(args.out_dir, exist_ok=True)
        for index in args.indices:
            print(f'vis_word_attention.py: wrote {draw_sample(model, dataset, index, args)}')


if __name__ == '__main__':
    main()

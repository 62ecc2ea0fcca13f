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
import textwrap

import numpy as np
import torch
from mmengine.config import DictAction

from medvlp.utils import report_user_errors
from medvlp.visualization import (load_for_visualisation, overlay_heatmap, patch_map_to_image,
                                  sample_attention)


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


def choose_words(record: dict, attention: torch.Tensor, wanted, max_words: int) -> list:
    """Indices of the words to draw (see the module docstring for the order)."""
    words = record['words']
    usable = [i for i in range(min(len(words), attention.size(0)))
              if attention[i].sum() > 0 and any(c.isalnum() for c in words[i])]
    if wanted:
        wanted = {w.lower() for w in wanted}
        chosen = [i for i in usable if words[i].lower() in wanted]
    else:
        chosen = [i for m in record.get('mesh', []) for i in range(m['start_word'],
                                                                     m['end_word'])
                  if i in usable]
    if not chosen:  # the most focused attention: highest peak
        chosen = sorted(usable, key=lambda i: -float(attention[i].max()))
    seen, out = set(), []
    for i in chosen:
        if i not in seen:
            seen.add(i)
            out.append(i)
    return out[:max_words]


def draw(image: np.ndarray, panels: list, title: str, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(3 * (1 + len(panels)), 3.4))
    axes = np.atleast_1d(axes)
    axes[0].imshow(image, cmap='gray')
    axes[0].set_title('X-ray', fontsize=9)
    for ax, (word, overlay) in zip(axes[1:], panels):
        ax.imshow(overlay)
        ax.set_title(f'"{word}"', fontsize=9)
    for ax in axes:
        ax.axis('off')
    fig.suptitle(textwrap.fill(title, 40 * (1 + len(panels))), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('vis_word_attention.py'):
        model, dataset = load_for_visualisation(args.config, args.checkpoint,
                                                args.cfg_options, args.indices)
        os.makedirs(args.out_dir, exist_ok=True)
        for index in args.indices:
            print(f'vis_word_attention.py: wrote {draw_sample(model, dataset, index, args)}')


def draw_sample(model, dataset, index: int, args) -> str:
    out = sample_attention(model, dataset, index)
    record, image, attention = out['record'], out['image'], out['attention']
    panels = []
    for w in choose_words(record, attention, args.words, args.max_words):
        heat = patch_map_to_image(attention[w], out['grid'], image.shape)
        panels.append((record['words'][w], overlay_heatmap(image, heat)))
    name = osp.splitext(osp.basename(record['img_path']))[0]
    path = osp.join(args.out_dir, f'{index:04d}_{name}_attention.png')
    draw(image, panels, record.get('report', '')[:240], path)
    return path


if __name__ == '__main__':
    main()

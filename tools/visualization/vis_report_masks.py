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

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.registry import DefaultScope

from medvlp.registry import MODELS
from medvlp.utils import report_user_errors
from medvlp.visualization import (load_for_visualisation, overlay_heatmap, patch_map_to_image,
                                  sample_attention)

CHARS_PER_LINE = 110


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


def mask_generators(model) -> dict:
    """The model's KWM/SDM generators, or default ones for a plain alignment model."""
    if hasattr(model, 'mask_generators'):
        return dict(model.mask_generators.items())
    with DefaultScope.overwrite_default_scope('medvlp'):
        return {mode: MODELS.build(dict(type='ReportGuidedMaskGenerator', mode=mode))
                for mode in ('kwm', 'sdm')}


def shade_mask(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Darken masked pixels of a greyscale image and return RGB."""
    rgb = np.repeat(image[..., None], 3, axis=2).astype(np.float32)
    rgb[mask] = rgb[mask] * 0.25 + np.array([20., 20., 60.])
    return rgb.clip(0, 255).astype(np.uint8)


def word_styles(record: dict, sentence: int) -> list:
    """(word, colour, underline, strike) for every word of the report."""
    keyword = {}
    for m in record.get('mesh', []):
        for i in range(m['start_word'], m['end_word']):
            keyword[i] = m.get('negated', False)
    sentence_ids = record.get('sentence_ids', [])
    styles = []
    for i, word in enumerate(record['words']):
        colour = 'black'
        if i in keyword:
            colour = 'grey' if keyword[i] else 'red'
        in_sentence = i < len(sentence_ids) and sentence_ids[i] == sentence
        styles.append((word, colour, in_sentence, keyword.get(i, False)))
    return styles


def draw_report(ax, styles: list) -> None:
    """Monospace report text with per-word colours."""
    ax.axis('off')
    col, row = 0, 0
    for word, colour, underline, strike in styles:
        if col and col + len(word) + 1 > CHARS_PER_LINE:
            col, row = 0, row + 1
        x = col * 0.6 * 8  # monospace: about 0.6 em per character, 8-pt font
        ax.annotate(word, (0, 1), xytext=(x, -12 * row - 4), textcoords='offset points',
                    va='top', ha='left', family='monospace', fontsize=8, color=colour,
                    bbox=dict(boxstyle='square,pad=0.05', fc='#dbe8ff', ec='none')
                    if underline else None)
        if strike:
            ax.annotate('-' * len(word), (0, 1), xytext=(x, -12 * row - 4),
                        textcoords='offset points', va='top', ha='left',
                        family='monospace', fontsize=8, color='grey')
        col += len(word) + 1


@torch.no_grad()
def draw_sample(model, dataset, index: int, args) -> str:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    out = sample_attention(model, dataset, index)
    image, grid = out['image'], out['grid']
    attention = out['attention'][None]
    num_words = attention.size(1)
    flags = {k: v[None, :num_words] for k, v in out['flags'].items()}
    generator = torch.Generator().manual_seed(args.seed)
    panels, sentence = [('X-ray', np.repeat(image[..., None], 3, axis=2))], -1
    for name, gen in mask_generators(model).items():
        mask, info = gen(attention, flags['word_keyword'].bool(),
                         flags['word_sentence_ids'], generator=generator, return_map=True)
        note = ' (fallback)' if bool(info.fallback[0]) else ''
        heat = patch_map_to_image(info.patch_map[0], grid, image.shape)
        pixels = patch_map_to_image(mask[0].float(), grid, image.shape, smooth=False) > 0.5
        panels.append((f'{name.upper()} map{note}', overlay_heatmap(image, heat)))
        panels.append((f'{name.upper()} mask: {int(mask[0].sum())}/{mask.size(1)}',
                       shade_mask(image, pixels)))
        if name == 'sdm':
            sentence = int(info.sentence[0])
    fig = plt.figure(figsize=(3 * len(panels), 5.2))
    for i, (title, picture) in enumerate(panels):
        ax = fig.add_axes([i / len(panels), 0.38, 1 / len(panels) - 0.01, 0.57])
        ax.imshow(picture, cmap='gray' if picture.ndim == 2 else None)
        ax.set_title(title, fontsize=9)
        ax.axis('off')
    draw_report(fig.add_axes([0.01, 0.0, 0.98, 0.34]), word_styles(out['record'], sentence))
    record = out['record']
    name = osp.splitext(osp.basename(record['img_path']))[0]
    path = osp.join(args.out_dir, f'{index:04d}_{name}_masks.png')
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


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

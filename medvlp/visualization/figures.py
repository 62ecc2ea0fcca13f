# Copyright (c) medvlp contributors. All rights reserved.
"""PNG figures of what a report does to its X-ray: word attention maps and MedIM's masks.

Both figures start from the ``sample`` dict of :func:`medvlp.apis.sample_attention` /
:func:`medvlp.apis.explain_pair`: ``record`` (the text record: ``words``, ``mesh``,
``sentence_ids``, ``report``, ``img_path``), ``image`` (``[H, W]`` uint8, the X-ray as
the model saw it), ``attention`` (``[W, R]`` word-to-region attention), ``grid``
(``(rows, cols)`` of the regions) and ``flags`` (``word_keyword``, ``word_sentence_ids``).
"""
import textwrap
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.registry import DefaultScope

from .overlay import overlay_heatmap, patch_map_to_image

CHARS_PER_LINE = 110


def _pyplot():
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    return plt


# ---------------------------------------------------------------- word attention
def choose_words(record: dict, attention: torch.Tensor, wanted: Optional[Sequence[str]],
                 max_words: int) -> List[int]:
    """Indices of the words to draw: the ``wanted`` words that occur in the report, else
    the report's MeSH terms, else the words with the most focused attention."""
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


def draw_word_attention(sample: dict, path: str, words: Optional[Sequence[str]] = None,
                        max_words: int = 4) -> str:
    """One PNG: the X-ray, then one attention overlay per chosen word (see
    :func:`choose_words`), the report's start as the title. Returns ``path``."""
    record, image, attention = sample['record'], sample['image'], sample['attention']
    panels = []
    for w in choose_words(record, attention, words, max_words):
        heat = patch_map_to_image(attention[w], sample['grid'], image.shape)
        panels.append((record['words'][w], overlay_heatmap(image, heat)))
    plt = _pyplot()
    fig, axes = plt.subplots(1, 1 + len(panels), figsize=(3 * (1 + len(panels)), 3.4))
    axes = np.atleast_1d(axes)
    axes[0].imshow(image, cmap='gray')
    axes[0].set_title('X-ray', fontsize=9)
    for ax, (word, overlay) in zip(axes[1:], panels):
        ax.imshow(overlay)
        ax.set_title(f'"{word}"', fontsize=9)
    for ax in axes:
        ax.axis('off')
    title = record.get('report', '')[:240]
    fig.suptitle(textwrap.fill(title, 40 * (1 + len(panels))), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- report-guided masks
def mask_generators(model) -> Dict[str, torch.nn.Module]:
    """The model's KWM/SDM generators, or default ones for a plain alignment model."""
    if hasattr(model, 'mask_generators'):
        return dict(model.mask_generators.items())
    from medvlp.registry import MODELS
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
def report_masks(model, sample: dict, seed: int = 0) -> Dict[str, dict]:
    """KWM and SDM masks of one sample: per mode ``mask`` ``[R]`` bool, ``patch_map``
    ``[R]``, ``fallback`` and (SDM) the chosen ``sentence``."""
    attention = sample['attention'][None]
    num_words = attention.size(1)
    flags = {k: v[None, :num_words] for k, v in sample['flags'].items()}
    generator = torch.Generator().manual_seed(seed)
    out = {}
    for name, gen in mask_generators(model).items():
        mask, info = gen(attention, flags['word_keyword'].bool(),
                         flags['word_sentence_ids'], generator=generator, return_map=True)
        out[name] = dict(mask=mask[0], patch_map=info.patch_map[0],
                         fallback=bool(info.fallback[0]),
                         sentence=int(info.sentence[0]) if name == 'sdm' else None)
    return out


def draw_report_masks(model, sample: dict, path: str, seed: int = 0) -> str:
    """One PNG: the X-ray; per mode (KWM, SDM) the attention map the mask was drawn from
    and the mask (masked patches shaded dark); below, the report with its MeSH words in
    red (negated ones struck through in grey) and SDM's sentence highlighted in blue.
    A MedIM model uses its own mask generators, any other alignment model the default
    ones. Returns ``path``."""
    image, grid = sample['image'], sample['grid']
    panels, sentence = [('X-ray', np.repeat(image[..., None], 3, axis=2))], -1
    for name, m in report_masks(model, sample, seed).items():
        note = ' (fallback)' if m['fallback'] else ''
        heat = patch_map_to_image(m['patch_map'], grid, image.shape)
        pixels = patch_map_to_image(m['mask'].float(), grid, image.shape, smooth=False) > 0.5
        panels.append((f'{name.upper()} map{note}', overlay_heatmap(image, heat)))
        panels.append((f'{name.upper()} mask: {int(m["mask"].sum())}/{m["mask"].numel()}',
                       shade_mask(image, pixels)))
        if m['sentence'] is not None:
            sentence = m['sentence']
    plt = _pyplot()
    fig = plt.figure(figsize=(3 * len(panels), 5.2))
    for i, (title, picture) in enumerate(panels):
        ax = fig.add_axes([i / len(panels), 0.38, 1 / len(panels) - 0.01, 0.57])
        ax.imshow(picture, cmap='gray' if picture.ndim == 2 else None)
        ax.set_title(title, fontsize=9)
        ax.axis('off')
    draw_report(fig.add_axes([0.01, 0.0, 0.98, 0.34]), word_styles(sample['record'], sentence))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- retrieval
def draw_retrieval(image: np.ndarray, hits: Sequence[dict], path: str,
                   true_id: Optional[str] = None, title: str = 'query X-ray') -> str:
    """One PNG: the query X-ray and its top retrieved reports with their scores; the
    query's own report (``true_id``), when retrieved, is marked in green. Returns ``path``."""
    plt = _pyplot()
    fig = plt.figure(figsize=(11, 3.6))
    ax = fig.add_axes([0.0, 0.05, 0.3, 0.85])
    ax.imshow(image, cmap='gray')
    ax.set_title(title, fontsize=9)
    ax.axis('off')
    text_ax = fig.add_axes([0.32, 0.0, 0.67, 1.0])
    text_ax.axis('off')
    y = 0.95
    for hit in hits:
        own = true_id is not None and hit['id'] == true_id
        head = f'{hit["rank"]}. score {hit["score"]:.3f}  [{hit["id"]}]' + \
            ('  <- its own report' if own else '')
        text_ax.text(0, y, head, fontsize=9, weight='bold', va='top',
                     color='green' if own else 'black', transform=text_ax.transAxes)
        body = textwrap.fill(hit['item'], 110)
        body = '\n'.join(body.splitlines()[:4])
        text_ax.text(0, y - 0.07, body, fontsize=7.5, va='top', family='monospace',
                     transform=text_ax.transAxes)
        y -= 0.32
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

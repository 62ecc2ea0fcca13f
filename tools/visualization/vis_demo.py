# Copyright (c) medvlp contributors. All rights reserved.
"""The pictures at the end of ``make demo``: what the reports did, for a few demo X-rays.

    python tools/visualization/vis_demo.py CONFIG CHECKPOINT --out-dir work_dirs/demo/vis \
        [--indices 0 33 66] [--topk 3]

For each test-set sample it writes three PNGs and, for all, a ``retrieval.json``:

- ``<name>_masks.png``: the KWM and SDM attention maps of the report and the masks drawn
  from them (what MedIM hides and restores), with the report's MeSH words in red;
- ``<name>_attention.png``: where individual report words attend on the X-ray;
- ``<name>_retrieval.png``: the top-k notes of the whole demo set retrieved for the X-ray
  (its own note in green when found).
"""
import argparse
import json
import os
import os.path as osp

from mmengine.config import DictAction

from medvlp.apis import ImageReportRetriever, load_for_visualisation, sample_attention
from medvlp.utils import report_user_errors
from medvlp.visualization import draw_report_masks, draw_word_attention
from medvlp.visualization.figures import draw_retrieval


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Masks, attention and retrieval PNGs')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out-dir', required=True, help='folder for the PNGs')
    parser.add_argument('--indices', type=int, nargs='+', default=[0, 33, 66],
                        help='test-set samples to draw (default: 0 33 66)')
    parser.add_argument('--topk', type=int, default=3, help='notes retrieved per X-ray')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='key=value overrides, as in tools/train.py')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    with report_user_errors('vis_demo.py'):
        model, dataset = load_for_visualisation(args.config, args.checkpoint,
                                                args.cfg_options, args.indices)
        os.makedirs(args.out_dir, exist_ok=True)
        records = [dataset.get_data_info(i) for i in range(len(dataset))]
        ids = [str(r.get('study_id', i)) for i, r in enumerate(records)]
        retriever = ImageReportRetriever(model)
        index = retriever.build_index(reports=records, report_ids=ids)
        hits = retriever.search(index, images=[records[i]['img_path'] for i in args.indices],
                                topk=args.topk)
        summary, found = [], 0
        for index_, top in zip(args.indices, hits):
            sample = sample_attention(model, dataset, index_)
            name = f'{index_:04d}_' + osp.splitext(osp.basename(records[index_]['img_path']))[0]
            base = osp.join(args.out_dir, name)
            own = ids[index_] in [h['id'] for h in top]
            found += own
            summary.append(dict(
                image=records[index_]['img_path'], id=ids[index_], own_note_found=own,
                masks=draw_report_masks(model, sample, base + '_masks.png'),
                attention=draw_word_attention(sample, base + '_attention.png', max_words=3),
                retrieval=draw_retrieval(sample['image'], top, base + '_retrieval.png',
                                         ids[index_]),
                hits=top))
        with open(osp.join(args.out_dir, 'retrieval.json'), 'w', encoding='utf-8') as f:
            json.dump(summary, f, indent=1)
    out = osp.abspath(args.out_dir)
    print(f'vis_demo.py: {3 * len(summary)} pictures of {len(summary)} demo X-rays in {out}:\n'
          '  *_masks.png      the KWM (MeSH words, red) and SDM (one sentence, blue) attention '
          'maps of the note and the patches MedIM masks from them (dark)\n'
          '  *_attention.png  where single words of the note attend on the X-ray\n'
          f'  *_retrieval.png  the top-{args.topk} of all {len(records)} demo notes retrieved '
          f'for the X-ray (its own note, green, found for {found} of {len(summary)})\n'
          '  retrieval.json   the retrieved notes with their scores')


if __name__ == '__main__':
    main()

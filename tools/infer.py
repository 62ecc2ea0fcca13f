# Copyright (c) medvlp contributors. All rights reserved.
"""Use a trained image-report model (JoImTeRNet, MedIM) on your own X-rays and reports.

    python tools/infer.py embed CONFIG CHECKPOINT --images a.png dir/ [--reports ...] \\
        --out feats.json [--patch-feats]
    python tools/infer.py retrieve CONFIG CHECKPOINT --index notes.index.pth \\
        [--corpus-reports notes.jsonl] [--corpus-images dir/] \\
        [--images q.png | --reports "left pleural effusion"] [--topk 3] [--out hits.json]
    python tools/infer.py zero-shot CONFIG CHECKPOINT --images dir/ [--prompts chexpert5] \\
        [--classes A B] --out scores.json
    python tools/infer.py explain CONFIG CHECKPOINT --image a.png --report "..." \\
        --out-dir DIR [--words effusion]

Reports are strings (``--reports``) or files (``--reports-file``, ``--corpus-reports``):
``.txt`` with one report per line, or an annotation file (``.jsonl``/``.json``, medvlp
records: their processed text and ``study_id`` are used). Images are files or folders
(every PNG/JPEG/DICOM inside). ``retrieve`` builds the index from the corpus options and
saves it to ``--index``; without them it loads ``--index``; queries are optional.
"""
import argparse
import glob
import json
import os
import os.path as osp
import sys

from mmengine.config import DictAction

IMAGE_SUFFIXES = ('.png', '.jpg', '.jpeg', '.dcm', '.dicom', '.bmp', '.tif', '.tiff')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)

    def common(p):
        p.add_argument('config', help='config of the model (JoImTeRNet, MedIM)')
        p.add_argument('checkpoint', help='its checkpoint')
        p.add_argument('--device', default='cpu')
        p.add_argument('--batch-size', type=int, default=16)
        p.add_argument('--text-source', choices=['report', 'note'],
                       help="how raw text is processed: sectioned 'report' or free 'note' "
                       "(default: the dataset config's text_source, else 'report')")
        p.add_argument('--cfg-options', nargs='+', action=DictAction,
                       help='key=value overrides, as in tools/train.py')
        return p

    def queries(p):
        p.add_argument('--images', nargs='+', default=[], help='image files or folders')
        p.add_argument('--reports', nargs='+', default=[], help='report texts')
        p.add_argument('--reports-file', help='.txt (one per line) or annotation file')

    p = common(sub.add_parser('embed', help='image and report embeddings to JSON'))
    queries(p)
    p.add_argument('--patch-feats', action='store_true', help='also write patch embeddings')
    p.add_argument('--out', required=True, help='JSON file')

    p = common(sub.add_parser('retrieve', help='build / query an image-report index'))
    queries(p)
    p.add_argument('--index', required=True, help='index file to write or read')
    p.add_argument('--corpus-reports', help='reports to index (.txt or annotation file)')
    p.add_argument('--corpus-images', nargs='+', default=[], help='images to index')
    p.add_argument('--topk', type=int, default=5)
    p.add_argument('--target', choices=['report', 'image'],
                   help='collection to search (default: the other modality)')
    p.add_argument('--out', help='JSON file for the hits (default: print them)')

    p = common(sub.add_parser('zero-shot', help='classify images from text prompts'))
    p.add_argument('--images', nargs='+', required=True, help='image files or folders')
    p.add_argument('--prompts', default='chexpert5',
                   help='chexpert5, nih14, covid, or a JSON prompt file')
    p.add_argument('--classes', nargs='+', help='classes to score (default: the prompt set)')
    p.add_argument('--out', required=True, help='JSON file')

    p = common(sub.add_parser('explain', help='word attention and KWM/SDM mask PNGs'))
    p.add_argument('--image', required=True)
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument('--report', help='the report text')
    group.add_argument('--report-file', help='a text file holding the report')
    p.add_argument('--out-dir', required=True)
    p.add_argument('--words', nargs='+', help='words to draw when the report has them')
    p.add_argument('--max-words', type=int, default=4)
    p.add_argument('--seed', type=int, default=0, help='seed of the mask draws')
    return parser.parse_args(argv)


def expand_images(items):
    """Files as given, folders as their image files (sorted)."""
    from medvlp.utils import UserError
    paths = []
    for item in items:
        if osp.isdir(item):
            found = sorted(f for f in glob.glob(osp.join(item, '*'))
                           if f.lower().endswith(IMAGE_SUFFIXES))
            if not found:
                raise UserError(f'folder {item} holds no image files')
            paths.extend(found)
        elif osp.isfile(item):
            paths.append(item)
        else:
            raise UserError(f'image "{item}" does not exist')
    return paths


def read_reports(path):
    """(reports, ids) of a .txt (one report per line) or annotation file."""
    from medvlp.utils import UserError
    if not osp.isfile(path):
        raise UserError(f'reports file "{path}" does not exist')
    if path.endswith('.txt'):
        with open(path, encoding='utf-8') as f:
            lines = [line.strip() for line in f]
        reports = [line for line in lines if line]
        return reports, [str(i) for i in range(len(reports))]
    from medvlp.datasets.annotation_io import read_annotation_file
    _, rows = read_annotation_file(path)
    ids = [str(r.get('study_id', i)) for i, r in enumerate(rows)]
    return rows, ids


def gather_queries(args):
    reports, ids = list(args.reports), [str(i) for i in range(len(args.reports))]
    if args.reports_file:
        more, more_ids = read_reports(args.reports_file)
        reports += more
        ids += more_ids
    return expand_images(args.images), reports, ids


def write_json(data, path):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(data, f, indent=1)
    return path


def run_embed(args, model):
    from medvlp.apis import ImageEmbedder, ReportEmbedder
    from medvlp.utils import UserError
    images, reports, ids = gather_queries(args)
    if not images and not reports:
        raise UserError('embed needs --images, --reports or --reports-file')
    out = dict(config=args.config, checkpoint=args.checkpoint)
    if images:
        feats = ImageEmbedder(model)(images, batch_size=args.batch_size)
        out['images'] = [dict(path=p, global_feat=f['global_feat'].tolist(),
                              **(dict(patch_feats=f['patch_feats'].tolist())
                                 if args.patch_feats else {}))
                         for p, f in zip(images, feats)]
    if reports:
        feats = ReportEmbedder(model, text_source=args.text_source)(
            reports, batch_size=args.batch_size)
        out['reports'] = [dict(id=i, words=f['words'], global_feat=f['global_feat'].tolist())
                          for i, f in zip(ids, feats)]
    print(f'infer.py: {len(images)} image and {len(reports)} report embeddings written to '
          f'{write_json(out, args.out)}')


def run_retrieve(args, model):
    from medvlp.apis import ImageReportRetriever, RetrievalIndex
    retriever = ImageReportRetriever(model, text_source=args.text_source)
    corpus_images = expand_images(args.corpus_images)
    if args.corpus_reports or corpus_images:
        reports, ids = read_reports(args.corpus_reports) if args.corpus_reports else (None,
                                                                                       None)
        index = retriever.build_index(reports=reports, report_ids=ids, images=corpus_images,
                                      batch_size=args.batch_size)
        print(f'infer.py: wrote {index} to {index.save(args.index)}')
    else:
        index = RetrievalIndex.load(args.index)
    images, reports, ids = gather_queries(args)
    if not images and not reports:
        return
    results = []
    if images:
        hits = retriever.search(index, images=images, topk=args.topk, target=args.target,
                                batch_size=args.batch_size)
        results += [dict(query=p, kind='image', hits=h) for p, h in zip(images, hits)]
    if reports:
        hits = retriever.search(index, reports=reports, topk=args.topk, target=args.target,
                                batch_size=args.batch_size)
        results += [dict(query=i, kind='report', hits=h) for i, h in zip(ids, hits)]
    if args.out:
        print(f'infer.py: top-{args.topk} of {len(results)} queries written to '
              f'{write_json(results, args.out)}')
    else:
        for result in results:
            print(f'{result["kind"]} {result["query"]}:')
            for h in result['hits']:
                print(f'  {h["rank"]}. {h["score"]:.3f}  {h["id"]}  {h["item"][:100]}')


def run_zero_shot(args, model):
    from medvlp.apis import ZeroShotInferencer
    inferencer = ZeroShotInferencer(model, prompts=args.prompts, classes=args.classes)
    images = expand_images(args.images)
    out = dict(prompts=args.prompts, classes=inferencer.classes,
               predictions=inferencer(images, batch_size=args.batch_size))
    print(f'infer.py: zero-shot scores of {len(images)} images for {len(inferencer.classes)} '
          f'classes written to {write_json(out, args.out)}')


def run_explain(args, model):
    from medvlp.apis import ImageReportExplainer
    from medvlp.utils import UserError
    report = args.report
    if args.report_file:
        if not osp.isfile(args.report_file):
            raise UserError(f'report file "{args.report_file}" does not exist')
        with open(args.report_file, encoding='utf-8') as f:
            report = f.read()
    explainer = ImageReportExplainer(model, text_source=args.text_source)
    written = explainer.explain(args.image, report, args.out_dir, args.words, args.max_words,
                                args.seed)
    for kind, path in written.items():
        print(f'infer.py: wrote {kind} {path}')


COMMANDS = {'embed': run_embed, 'retrieve': run_retrieve, 'zero-shot': run_zero_shot,
            'explain': run_explain}


def main(argv=None):
    args = parse_args(argv)
    from medvlp.apis import init_model
    from medvlp.utils import report_user_errors
    with report_user_errors('infer.py'):
        model = init_model(args.config, args.checkpoint, args.device, args.cfg_options)
        COMMANDS[args.command](args, model)


if __name__ == '__main__':
    sys.exit(main())

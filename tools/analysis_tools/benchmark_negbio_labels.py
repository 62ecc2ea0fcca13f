# Copyright (c) medvlp contributors. All rights reserved.
"""Precision and recall of medvlp's finding flags against the OpenI NegBio gold labels.

Every IU/OpenI report with a gold row (``openi_gld_std14.csv``, NegBio, 3,851 reports) is
processed (findings + impression) by ``ReportProcessor``. A report is predicted positive for
a finding when one of the finding's MeSH matches is

* **before**: mentioned and not negated (what medvlp had before uncertainty flags), or
* **after**: mentioned, not negated and not uncertain (``UncertaintyDetector``),

and compared with the gold label (1 = positive; negative and uncertain mentions are 0).
The table gives per-finding and micro-averaged precision / recall / F1. ``Infiltration`` has
no counterpart in the curated MeSH vocabulary and is left out; ``Hernia`` has no gold
positive (its precision is shown, recall is undefined).

Example::

    python tools/analysis_tools/benchmark_negbio_labels.py \\
        --reports ../shared/data/openi/openi_reports.jsonl \\
        --labels ../shared/data/openi/openi_gld_std14.csv
"""
import argparse
import csv
import json
import os
import os.path as osp
import sys
from typing import Dict, List, Tuple

REPO = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
sys.path.insert(0, REPO)

DEFAULT_SHARED = osp.normpath(osp.join(REPO, '..', 'shared', 'data'))

#: gold label -> (MeSH ids, a word stem the matched words must contain, or None)
FINDINGS: Dict[str, Tuple[Tuple[str, ...], str]] = {
    'Atelectasis': (('D001261', ), None),
    'Cardiomegaly': (('D006332', ), None),
    'Effusion': (('D010996', ), None),
    'Mass': (('D008175', 'D009369'), 'mass'),
    'Nodule': (('D003074', 'D055613'), None),
    'Pneumonia': (('D011014', 'D001996', 'D011024'), None),
    'Pneumothorax': (('D011030', 'D006872', 'D006468'), None),
    'Consolidation': (('D008171', ), 'consolidat'),
    'Edema': (('D011654', ), None),
    'Emphysema': (('D011656', ), None),
    'Fibrosis': (('D011658', ), None),
    'Pleural_Thickening': (('D010995', ), 'thicken'),
    'Hernia': (('D006547', 'D006548', 'D006551'), None),
}
MODES = ('before', 'after')


def shared_path(*parts: str) -> str:
    return osp.join(os.environ.get('MEDVLP_SHARED_DATA', DEFAULT_SHARED), *parts)


def predicted(record: dict, finding: str, mode: str) -> bool:
    """Whether ``record`` mentions ``finding`` positively under ``mode``."""
    mesh_ids, stem = FINDINGS[finding]
    for match in record['mesh']:
        if match['mesh_id'] not in mesh_ids or match['negated']:
            continue
        words = ' '.join(record['words'][match['start_word']:match['end_word']]).lower()
        if stem is not None and stem not in words:
            continue
        if mode == 'after' and match.get('uncertain'):
            continue
        return True
    return False


def score(records: Dict[str, dict], gold: Dict[str, dict]) -> Dict[str, Dict[str, List[int]]]:
    """``{mode: {finding: [tp, fp, fn]}}`` over the reports with a gold row."""
    counts = {mode: {f: [0, 0, 0] for f in FINDINGS} for mode in MODES}
    for uid, record in records.items():
        for finding in FINDINGS:
            truth = gold[uid][finding] == '1'
            for mode in MODES:
                guess = predicted(record, finding, mode)
                cell = counts[mode][finding]
                cell[0] += guess and truth
                cell[1] += guess and not truth
                cell[2] += truth and not guess
    return counts


def prf(tp: int, fp: int, fn: int) -> Tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else float('nan')
    recall = tp / (tp + fn) if tp + fn else float('nan')
    f1 = 2 * precision * recall / (precision + recall) if tp else float('nan')
    return precision, recall, f1


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Precision/recall of "mentioned, not negated (, not uncertain)" '
        'against the OpenI NegBio gold labels')
    parser.add_argument('--reports', default=None,
                        help='openi_reports.jsonl (default: $MEDVLP_SHARED_DATA/openi/...)')
    parser.add_argument('--labels', default=None,
                        help='openi_gld_std14.csv (default: $MEDVLP_SHARED_DATA/openi/...)')
    parser.add_argument('--punkt-file', default=None,
                        help='Punkt model for SentenceSplitter (default: the shared punkt_tab)')
    parser.add_argument('--limit', type=int, default=None, help='use only the first N reports')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    reports = args.reports or shared_path('openi', 'openi_reports.jsonl')
    labels = args.labels or shared_path('openi', 'openi_gld_std14.csv')
    for path in (reports, labels):
        if not osp.isfile(path):
            print(f'error: {path} not found; pass --reports/--labels or set '
                  'MEDVLP_SHARED_DATA', file=sys.stderr)
            return 1
    if args.punkt_file is None and osp.isdir(shared_path('vocab', 'nltk_data')):
        os.environ.setdefault('MEDVLP_NLTK_DATA', shared_path('vocab', 'nltk_data'))

    from medvlp.text import EmptyReportError, ReportProcessor, SentenceSplitter
    with open(labels, encoding='utf-8') as f:
        gold = {row['filename']: row for row in csv.DictReader(f)}
    processor = ReportProcessor(splitter=SentenceSplitter(punkt_file=args.punkt_file))
    records, empty = {}, 0
    with open(reports, encoding='utf-8') as f:
        for line in f:
            report = json.loads(line)
            if report['uid'] not in gold:
                continue
            try:
                records[report['uid']] = processor.process_sections(
                    {'findings': report['findings'], 'impression': report['impression']})
            except EmptyReportError:
                empty += 1
            if args.limit is not None and len(records) >= args.limit:
                break
    if not records:
        print(f'error: no report of {reports} has a gold row in {labels}', file=sys.stderr)
        return 1
    counts = score(records, gold)
    print(f'NegBio gold-label benchmark: {len(records)} OpenI reports with a gold row '
          f'({empty} without findings/impression text skipped)')
    print('positive = mentioned and not negated (before) / and not uncertain (after)')
    print(f'{"finding":20s} {"gold+":>5s} | {"P before":>8s} {"R before":>8s} {"F1 before":>9s}'
          f' | {"P after":>8s} {"R after":>8s} {"F1 after":>9s}')
    totals = {mode: [0, 0, 0] for mode in MODES}
    for finding in FINDINGS:
        cells = []
        for mode in MODES:
            tp, fp, fn = counts[mode][finding]
            totals[mode] = [a + b for a, b in zip(totals[mode], (tp, fp, fn))]
            cells.append(prf(tp, fp, fn))
        positives = counts['before'][finding][0] + counts['before'][finding][2]
        print(f'{finding:20s} {positives:5d} | ' + ' | '.join(
            f'{p:8.3f} {r:8.3f} {f1:9.3f}' for p, r, f1 in cells))
    micro = [prf(*totals[mode]) for mode in MODES]
    print(f'{"micro average":20s} {totals["before"][0] + totals["before"][2]:5d} | ' + ' | '.join(
        f'{p:8.3f} {r:8.3f} {f1:9.3f}' for p, r, f1 in micro))
    for mode, (p, r, f1) in zip(MODES, micro):
        print(f'micro {mode}: precision {p:.3f}, recall {r:.3f}, F1 {f1:.3f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

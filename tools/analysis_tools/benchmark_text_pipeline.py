# Copyright (c) medvlp contributors. All rights reserved.
"""Measure the report-text pipeline's throughput on one CPU core, single process.

Each IU/OpenI report's findings and impression are written as a report text
(``FINDINGS: ...\\n\\nIMPRESSION: ...``) and run through the whole pipeline: parsing (cleaning
and section extraction), sentence splitting, word splitting, MeSH matching with negation
and uncertainty (``ReportProcessor.process_report``; the word-level steps run once per
distinct sentence, whose result is cached) and WordPiece tokenisation
(``WordPieceTokenizer`` ``encode_batch_words`` in batches). The process is pinned to one CPU
where the OS allows it and the Rust tokenizer's thread pool is disabled, so the figure is per
core.

Several passes are timed: the first starts with empty caches (sentence-splitter, sentence
annotation and tokenizer caches, word normalisation), the others (``--warm-passes``, 3 by
default) reuse them, as a long conversion job would; the warm figure is their median, which a
shared, busy machine disturbs least. A stage breakdown of a warm pass follows. Records are not
kept, as in a converter streaming to disk.

Example::

    python tools/analysis_tools/benchmark_text_pipeline.py \\
        --reports ../shared/data/openi/openi_reports.jsonl
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import time

# Before tokenizers is imported: one thread, so that the figure is per core.
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
os.environ.setdefault('RAYON_NUM_THREADS', '1')

REPO = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..')
sys.path.insert(0, REPO)
from medvlp.utils.sysinfo import machine_summary  # noqa: E402

DEFAULT_SHARED = osp.normpath(osp.join(REPO, '..', 'shared', 'data'))


def default_reports_path() -> str:
    """``$MEDVLP_SHARED_DATA/openi/openi_reports.jsonl`` or ``<repo>/../shared/data/...``."""
    shared = os.environ.get('MEDVLP_SHARED_DATA', DEFAULT_SHARED)
    return osp.join(shared, 'openi', 'openi_reports.jsonl')


def default_nltk_data() -> str:
    shared = os.environ.get('MEDVLP_SHARED_DATA', DEFAULT_SHARED)
    return osp.join(shared, 'vocab', 'nltk_data')


def load_report_texts(path: str, limit=None) -> list:
    """Report texts with FINDINGS/IMPRESSION headers from an OpenI JSONL file."""
    texts = []
    with open(path, encoding='utf-8') as f:
        for line in f:
            record = json.loads(line)
            parts = [f'{name.upper()}: {record[name]}' for name in ('findings', 'impression')
                     if record.get(name)]
            if parts:
                texts.append('\n\n'.join(parts))
                if limit is not None and len(texts) >= limit:
                    break
    return texts


def pin_to_one_cpu() -> str:
    """Pin this process to the first CPU it may run on (under ``taskset -c 1``: CPU 1)."""
    if not hasattr(os, 'sched_setaffinity'):
        return 'not pinned (no sched_setaffinity on this OS)'
    cpu = min(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpu})
    return f'pinned to CPU {cpu}'


def run_pass(processor, tokenizer, texts, batch_size: int):
    """Process and tokenise all texts once; return (wall seconds, CPU seconds, words, tokens)."""
    wall, cpu = time.perf_counter(), time.process_time()
    n_words = n_tokens = 0
    for start in range(0, len(texts), batch_size):
        records = [processor.process_report(text) for text in texts[start:start + batch_size]]
        encoded = tokenizer.encode_batch_words([record['words'] for record in records])
        n_words += sum(len(record['words']) for record in records)
        n_tokens += sum(sum(mask) for mask in encoded['attention_mask'])
    return time.perf_counter() - wall, time.process_time() - cpu, n_words, n_tokens


def stage_breakdown(processor, tokenizer, texts, batch_size: int) -> list:
    """CPU microseconds per report of each stage, stage by stage on each batch of texts.

    The stages are those :meth:`ReportProcessor.process_report` runs: parsing, sentence
    splitting, the word-level annotation of the sentences (word split, MeSH matching,
    negation and uncertainty, computed once per distinct sentence and cached), then WordPiece
    tokenisation of the words.
    """
    from medvlp.text import clean_report_text, extract_sections
    from medvlp.text.sections import select_sections

    def parse(text):
        return select_sections(extract_sections(clean_report_text(text)),
                               processor.sections)[0]

    def split(chosen):
        return [sentence for text in chosen for sentence in processor.splitter.split(text)]

    stages = [('parse (clean + sections)', lambda batch: [parse(t) for t in batch]),
              ('sentence split', lambda batch: [split(c) for c in batch]),
              ('words, MeSH match + negation, uncertainty',
               lambda batch: [processor.annotate_sentences(s)[1] for s in batch]),
              ('WordPiece tokenise', tokenizer.encode_batch_words)]
    totals = [0.0] * len(stages)
    for start in range(0, len(texts), batch_size):
        data = texts[start:start + batch_size]
        for index, (_, stage) in enumerate(stages):
            begin = time.process_time()
            data = stage(data)  # the next stage consumes this one's output
            totals[index] += time.process_time() - begin
    return [(name, total / len(texts) * 1e6) for (name, _), total in zip(stages, totals)]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Reports/s of parse+split+match+tokenize on one core (OpenI reports).')
    parser.add_argument('--reports', default=None,
                        help='OpenI JSONL (default: $MEDVLP_SHARED_DATA/openi/'
                        'openi_reports.jsonl or <repo>/../shared/data/openi/...)')
    parser.add_argument('--limit', type=int, default=None, help='use only the first N reports')
    parser.add_argument('--batch-size', type=int, default=256,
                        help='reports per tokenizer batch (default: 256)')
    parser.add_argument('--max-length', type=int, default=128,
                        help='token sequence length (default: 128)')
    parser.add_argument('--punkt-file', default=None,
                        help='Punkt model for SentenceSplitter (default: punkt_tab from NLTK '
                        'data; the shared vocab/nltk_data folder is added to the search)')
    parser.add_argument('--warm-passes', type=int, default=3,
                        help='timed passes after the cold one; their median is the warm '
                        'figure (default: 3)')
    parser.add_argument('--no-pin', action='store_true', help='do not pin to one CPU')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    path = args.reports or default_reports_path()
    if not osp.isfile(path):
        print(f'error: {path} not found; pass --reports or set MEDVLP_SHARED_DATA',
              file=sys.stderr)
        return 1
    if args.punkt_file is None and osp.isdir(default_nltk_data()):
        os.environ.setdefault('MEDVLP_NLTK_DATA', default_nltk_data())
    pinning = 'not pinned (--no-pin)' if args.no_pin else pin_to_one_cpu()

    from medvlp.text import ReportProcessor, SentenceSplitter, WordPieceTokenizer
    texts = load_report_texts(path, args.limit)
    if not texts:
        print(f'error: no report with findings or impression in {path}', file=sys.stderr)
        return 1
    processor = ReportProcessor(splitter=SentenceSplitter(punkt_file=args.punkt_file))
    tokenizer = WordPieceTokenizer(max_length=args.max_length)

    print(f'machine: {machine_summary()}')  # the figures below depend on it
    print(f'text pipeline benchmark: {len(texts)} reports from {osp.basename(path)} '
          '(findings + impression), 1 process, ' + pinning)
    print(f'sentence model: {processor.splitter.model_source}')
    results = []
    names = ['pass 1 (cold caches)'] + [f'pass {i} (warm caches)'
                                        for i in range(2, max(args.warm_passes, 1) + 2)]
    for name in names:
        wall, cpu, n_words, n_tokens = run_pass(processor, tokenizer, texts, args.batch_size)
        results.append(len(texts) / cpu)
        print(f'{name}: {wall:.2f} s wall, {cpu:.2f} s CPU -> {len(texts) / wall:,.0f} '
              f'reports/s wall, {len(texts) / cpu:,.0f} reports/s per CPU core '
              f'({n_words / len(texts):.0f} words, {n_tokens / len(texts):.0f} tokens '
              'per report)')
    print('stage breakdown (CPU us per report, warm):')
    for stage, micros in stage_breakdown(processor, tokenizer, texts, args.batch_size):
        print(f'  {stage:42s} {micros:7.1f}')
    print(f'reports/s per core: {results[0]:,.0f} (cold) / {statistics.median(results[1:]):,.0f} '
          f'(warm, median of {len(results) - 1} passes)')
    return 0


if __name__ == '__main__':
    sys.exit(main())

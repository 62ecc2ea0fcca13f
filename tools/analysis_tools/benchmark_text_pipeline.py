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

Three figures are timed, each on a fresh processor and tokenizer:

* **cold**: every report once, all caches (sentence splitter, per-sentence annotation,
  tokenizer, word normalisation) empty at the start;
* **steady state** (the headline): the reports are dealt into two halves; one half is
  processed untimed, then the other half, which the pipeline has never seen, is timed. Its
  caches then hold what a long conversion job has seen, and they help only where the
  timed reports repeat a sentence or a word of the other half, as a real corpus does. This is
  done ``--steady-runs`` times (3 by default), swapping the halves; the median is printed;
* **repeat**: the same reports again on the processor of the cold pass
  (``--repeat-passes``, 2 by default), where every sentence is a cache hit: an upper bound,
  not what a conversion job sees.

A stage breakdown of the first steady-state run follows (garbage collection apart), then
what the first steady-state run spends beside the stages: its garbage collection
(``gc.callbacks``), and the rest, its CPU time per report minus that and the stages (building
the records, and the cost of running the stages report by report instead of stage by stage,
as the breakdown does). The breakdown and that run are timed seconds apart, so the rest also
carries the host's speed changes between them. Records are not kept, as in a converter streaming to disk. A garbage
collection runs before each timed pass so that no pass pays for the garbage of the previous
one; the collections during a pass are timed and printed with it.

Example::

    python tools/analysis_tools/benchmark_text_pipeline.py \\
        --reports ../shared/data/openi/openi_reports.jsonl
"""
import argparse
import gc
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


class GcTimer:
    """CPU seconds spent in garbage collections while the context is active.

    Collections are timed through :data:`gc.callbacks`, which the interpreter calls at the
    start and the end of every collection.
    """

    def __init__(self):
        self.seconds = 0.0
        self._start = None

    def _callback(self, phase: str, info: dict) -> None:
        if phase == 'start':
            self._start = time.process_time()
        elif self._start is not None:
            self.seconds += time.process_time() - self._start
            self._start = None

    def __enter__(self) -> 'GcTimer':
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._callback)


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
    tokenisation of the words. A garbage collection runs first, as before a timed pass, and
    the time of the collections during a stage is left out of the stage (a collection of
    every generation, due at some point, would otherwise land on whichever stage runs then);
    their total comes last, under ``'garbage collection'``.
    """
    from medvlp.text import clean_report_text
    from medvlp.text.sections import section_dict, select_sections

    def parse(text):  # what process_report runs
        return select_sections(section_dict(clean_report_text(text)), processor.sections)[0]

    def split(chosen):
        return [sentence for text in chosen for sentence in processor.splitter.split(text)]

    stages = [('parse (clean + sections)', lambda batch: [parse(t) for t in batch]),
              ('sentence split', lambda batch: [split(c) for c in batch]),
              ('words, MeSH match + negation, uncertainty',
               lambda batch: [processor.annotate_sentences(s)[1] for s in batch]),
              ('WordPiece tokenise', tokenizer.encode_batch_words)]
    totals = [0.0] * len(stages)
    gc.collect()
    with GcTimer() as collections:
        for start in range(0, len(texts), batch_size):
            data = texts[start:start + batch_size]
            for index, (_, stage) in enumerate(stages):
                begin, collected = time.process_time(), collections.seconds
                data = stage(data)  # the next stage consumes this one's output
                totals[index] += (time.process_time() - begin
                                  - (collections.seconds - collected))
    return [(name, total / len(texts) * 1e6) for (name, _), total in zip(stages, totals)] + [
        ('garbage collection', collections.seconds / len(texts) * 1e6)]


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
    parser.add_argument('--steady-runs', type=int, default=3,
                        help='timed runs on reports the pipeline has not seen, after the other '
                        'half of the reports; their median is the headline (default: 3)')
    parser.add_argument('--repeat-passes', type=int, default=2,
                        help='timed passes over the same reports again (default: 2)')
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
    if len(texts) < 2:
        print('error: the steady-state figure needs at least 2 reports', file=sys.stderr)
        return 1

    def fresh():
        return (ReportProcessor(splitter=SentenceSplitter(punkt_file=args.punkt_file)),
                WordPieceTokenizer(max_length=args.max_length))

    processor, tokenizer = fresh()
    print(f'machine: {machine_summary()}')  # the figures below depend on it
    print(f'text pipeline benchmark: {len(texts)} reports from {osp.basename(path)} '
          '(findings + impression), 1 process, ' + pinning)
    print(f'sentence model: {processor.splitter.model_source}')

    gc_micros = {}  # name -> (CPU us per report, of which in garbage collection)

    def timed(name, processor, tokenizer, texts):
        gc.collect()
        with GcTimer() as collections:
            wall, cpu, n_words, n_tokens = run_pass(processor, tokenizer, texts,
                                                    args.batch_size)
        gc_micros[name] = (cpu / len(texts) * 1e6, collections.seconds / len(texts) * 1e6)
        print(f'{name}: {len(texts)} reports, {wall:.2f} s wall, {cpu:.2f} s CPU -> '
              f'{len(texts) / cpu:,.0f} reports/s per CPU core ({n_words / len(texts):.0f} '
              f'words, {n_tokens / len(texts):.0f} tokens per report; garbage collection '
              f'{gc_micros[name][1]:.1f} us per report)')
        return len(texts) / cpu

    cold = timed('cold, empty caches', processor, tokenizer, texts)
    halves = (texts[0::2], texts[1::2])
    steady, breakdown = [], None
    for run in range(args.steady_runs):
        seen, unseen = halves[run % 2], halves[1 - run % 2]
        steady_processor, steady_tokenizer = fresh()
        run_pass(steady_processor, steady_tokenizer, seen, args.batch_size)
        if breakdown is None:  # on a copy of the caches' state: the timed run is unaffected
            breakdown_processor, breakdown_tokenizer = fresh()
            run_pass(breakdown_processor, breakdown_tokenizer, seen, args.batch_size)
            breakdown = stage_breakdown(breakdown_processor, breakdown_tokenizer, unseen,
                                        args.batch_size)
        steady.append(timed(f'steady state {run + 1}, unseen half after the other',
                            steady_processor, steady_tokenizer, unseen))
    repeat = [timed(f'repeat {index + 1}, the same reports again', processor, tokenizer, texts)
              for index in range(args.repeat_passes)]
    if breakdown:
        print('stage breakdown (CPU us per report, steady state):')
        for stage, micros in breakdown:
            print(f'  {stage:42s} {micros:7.1f}')
        whole, collecting = gc_micros['steady state 1, unseen half after the other']
        rest = whole - collecting - sum(micros for _, micros in breakdown[:-1])
        print('steady state 1 beside the stages (CPU us per report):')
        print(f'  {"garbage collection":42s} {collecting:7.1f}')
        print(f'  {"rest (records, stages report by report)":42s} {rest:7.1f}')
    summary = f'reports/s per core: {cold:,.0f} (cold)'
    if steady:
        summary += (f' / {statistics.median(steady):,.0f} (steady state, median of '
                    f'{len(steady)} runs)')
    if repeat:
        summary += f' / {statistics.median(repeat):,.0f} (repeat, upper bound)'
    print(summary)
    return 0


if __name__ == '__main__':
    sys.exit(main())

# Copyright (c) medvlp contributors. All rights reserved.
"""Run the cells of a benchmark spec, resumably, and record what ran."""
import glob
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from mmengine.config import Config

from medvlp.utils.checkpoint import file_sha256
from medvlp.utils.cli import UserError
from .forked import preload, run_forked
from .cells import Cell, apply_quick, load_spec, plan_cells, read_config
from .report import doc_block, replace_doc_block, write_reports

RECORD = 'record.json'


class CellError(RuntimeError):
    """A tool of a cell failed; ``log_tail`` holds the end of its log."""

    def __init__(self, message: str, log_tail: str = '') -> None:
        super().__init__(message)
        self.log_tail = log_tail


def _now() -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%S%z')


def code_version(root: str) -> str:
    """``git describe --always --dirty`` of the repository the tools run from (``-dirty``:
    uncommitted changes were present), or ``'unknown'`` outside a git checkout."""
    try:
        out = subprocess.run(['git', 'describe', '--always', '--dirty', '--abbrev=12'],
                             cwd=root, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return 'unknown'
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else 'unknown'


def config_sha256(config: str, cfg_options: List[str]) -> str:
    """sha256 of the merged config text that the cell runs (file plus options)."""
    from mmengine.config import DictAction
    cfg = read_config(config)
    if cfg_options:
        parsed = {}
        for option in cfg_options:
            key, _, value = option.partition('=')
            parsed[key] = DictAction._parse_iterable(value)
        cfg.merge_from_dict(parsed)
    return hashlib.sha256(cfg.pretty_text.encode()).hexdigest()


def _kind(cell: Cell) -> str:
    """Cells of one kind take about as long: a method's pre-training, a task's runs."""
    return f'pretrain/{cell.method.name}' if cell.kind == 'pretrain' else cell.task.name


def _eta(spent: Dict[str, List[float]], left: List[Cell]) -> float:
    """Seconds of cell time left: per cell, the mean of the finished cells of its kind
    (of all finished cells when none of its kind has finished)."""
    every = [t for times in spent.values() for t in times]
    overall = sum(every) / len(every) if every else 0.
    return sum(sum(spent[k]) / len(spent[k]) if spent.get(k) else overall
               for k in map(_kind, left))


class BenchmarkRunner:
    """Run a benchmark spec cell by cell; a finished cell is never run again.

    Each cell works in ``<work_dir>/cells/<cell id>/`` and ends with a ``record.json``
    (status, metrics, commands, config hash, checkpoint sha256, seed, wall time). A rerun
    skips cells whose record says ``done`` and retries the others; a failing cell is
    recorded as ``failed`` (with the end of its log) and the run goes on.

    Args:
        spec (str): Path of the spec config.
        work_dir (str): Where cells, records and reports go.
        root (str): Repository root (tools/ and relative config paths). Defaults to '.'.
        python (str): Interpreter for the tools. Defaults to this one.
        launcher (dict, optional): Overrides the spec's ``launcher``.
        env (dict, optional): Extra environment for the tools.
        quick (bool): Run the spec's ``quick`` settings (fewer seeds, shorter runs).
            Defaults to False.
        jobs (int): Cells run at once (local launcher); each tool then gets
            ``cpu_count // jobs`` threads unless ``OMP_NUM_THREADS`` is set. Defaults to 1.
        fork (bool): Start the local tools as forked children of this process, which
            imports the stack once (:mod:`medvlp.benchmark.forked`), instead of new
            interpreters: the same commands without seconds of imports per cell. Ignored
            by the dist and slurm launchers. Defaults to False.
        command (str, optional): The command line that started the run, for
            ``runs.jsonl``.
        doc (str, optional): A Markdown file with a ``<!-- benchmark:NAME:begin -->`` /
            ``<!-- benchmark:NAME:end -->`` pair of lines: the results go between them.
        log (callable): Where progress lines go. Defaults to ``print``.
    """

    def __init__(self, spec: str, work_dir: str, root: str = '.',
                 python: str = sys.executable, launcher: Optional[dict] = None,
                 env: Optional[Dict[str, str]] = None, quick: bool = False, jobs: int = 1,
                 fork: bool = False, command: Optional[str] = None,
                 doc: Optional[str] = None, log=print) -> None:
        self.root = osp.abspath(root)
        self.work_dir = osp.abspath(work_dir)
        # absolute defaults for the variables specs use ({{$VAR:default}}), so the paths
        # they build mean the same in the runner and in the tools
        os.environ.setdefault('MEDVLP_SHARED_DATA',
                              osp.join(osp.dirname(self.root), 'shared', 'data'))
        os.environ.setdefault('MEDVLP_BENCHMARK_DATA', osp.join(self.work_dir, 'data'))
        self.spec_path = spec
        self.spec = load_spec(spec, self.root)
        if quick:
            self.spec = apply_quick(self.spec)
        self.python = python
        self.launcher = dict(launcher or self.spec.get('launcher') or dict(type='local'))
        if self.launcher.get('type') not in ('local', 'dist', 'slurm'):
            raise ValueError(f'launcher type must be local, dist or slurm, got '
                             f'{self.launcher.get("type")!r}')
        if jobs < 1:
            raise ValueError(f'jobs must be >= 1, got {jobs}')
        if jobs > 1 and self.launcher['type'] != 'local':
            raise ValueError('jobs > 1 runs several local cells at once; the dist and slurm '
                             'launchers run one cell at a time on all their GPUs')
        self.jobs = jobs
        self.command = command
        self.doc = doc
        self.fork = fork and self.launcher['type'] == 'local' and hasattr(os, 'fork')
        self.env = dict(os.environ, PYTHONPATH=self.root, **(env or {}))
        if jobs > 1 and 'OMP_NUM_THREADS' not in self.env:
            threads = str(max(1, (os.cpu_count() or 1) // jobs))
            self.env.update(OMP_NUM_THREADS=threads, MKL_NUM_THREADS=threads)
        self.log = log
        self._log_lock = threading.Lock()
        self.cells = plan_cells(self.spec)
        self.code = code_version(self.root)

    # ------------------------------------------------------------------ paths/records
    def cell_dir(self, cell: Cell) -> str:
        return osp.join(self.work_dir, 'cells', cell.id)

    def record(self, cell: Cell) -> Optional[dict]:
        path = osp.join(self.cell_dir(cell), RECORD)
        if not osp.isfile(path):
            return None
        with open(path) as f:
            return json.load(f)

    def _write_record(self, cell: Cell, record: dict) -> None:
        path = osp.join(self.cell_dir(cell), RECORD)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path + '.tmp', 'w') as f:
            json.dump(record, f, indent=2, sort_keys=True)
        os.replace(path + '.tmp', path)

    # ------------------------------------------------------------------ commands
    def _tool(self, name: str) -> str:
        return osp.join(self.root, 'tools', name)

    def train_command(self, config: str, work_dir: str, options: List[str],
                      extra: List[str]) -> List[str]:
        kind = self.launcher['type']
        opts = (['--cfg-options'] + options) if options else []
        if kind == 'local':
            head = [self.python, self._tool('train.py'), config, '--work-dir', work_dir]
        elif kind == 'dist':
            head = ['bash', self._tool('dist_train.sh'), config,
                    str(self.launcher.get('gpus', 8)), '--work-dir', work_dir]
        else:
            head = ['bash', self._tool('slurm_train.sh'), self.launcher['partition'],
                    self.launcher.get('job_name', 'medvlp-bench'), config, work_dir]
        return head + list(extra) + opts

    def test_command(self, config: str, checkpoint: str, work_dir: str, out: str,
                     options: List[str]) -> List[str]:
        opts = (['--cfg-options'] + options) if options else []
        tail = ['--work-dir', work_dir, '--out', out] + opts
        if self.launcher['type'] == 'dist':
            return ['bash', self._tool('dist_test.sh'), config, checkpoint,
                    str(self.launcher.get('gpus', 8))] + tail
        return [self.python, self._tool('test.py'), config, checkpoint] + tail

    def _run(self, command: List[str], log_path: str) -> None:
        env = dict(self.env, PYTHON=self.python)
        if self.launcher['type'] == 'slurm':
            env['GPUS'] = str(self.launcher.get('gpus', 8))
        with open(log_path, 'a') as log:
            log.write(f'$ {" ".join(command)}\n')
            log.flush()
            if self.fork and command[0] == self.python:
                returncode = run_forked(command, self.root, env, log_path)
            else:
                returncode = subprocess.run(command, cwd=self.root, env=env, stdout=log,
                                            stderr=subprocess.STDOUT).returncode
        if returncode != 0:
            with open(log_path) as f:
                lines = f.read().splitlines()
            last = next((line for line in reversed(lines) if line.strip()), '')
            tool = osp.basename(command[1]) if len(command) > 1 else command[0]
            raise CellError(f'{tool} exited {returncode}: {last.strip()[:300]}',
                            '\n'.join(lines[-40:]))

    # ------------------------------------------------------------------ cells
    @staticmethod
    def _produced_checkpoint(work_dir: str) -> str:
        """The best checkpoint of a run when it kept one, else its last one."""
        best = sorted(glob.glob(osp.join(work_dir, 'best_*.pth')), key=osp.getmtime)
        if best:
            return best[-1]
        pointer = osp.join(work_dir, 'last_checkpoint')
        if osp.isfile(pointer):
            with open(pointer) as f:
                path = f.read().strip()
            if osp.isfile(path):
                return path
        raise RuntimeError(f'the run in {work_dir} left no checkpoint')

    def _init_checkpoint(self, cell: Cell) -> Optional[str]:
        method = cell.method
        if method.checkpoint:
            return osp.join(self.root, method.checkpoint)
        if method.random_init:
            return None
        pre = self.record(Cell('pretrain', method, cell.seed))
        if not pre or pre.get('status') != 'done':
            raise RuntimeError(f'pre-training of {method.name} (seed {cell.seed}) did not '
                               'finish')
        return pre['checkpoint']

    @staticmethod
    def _read_metrics(path: str) -> Dict[str, float]:
        with open(path) as f:
            metrics = json.load(f)
        return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}

    def run_cell(self, cell: Cell) -> dict:
        work = self.cell_dir(cell)
        os.makedirs(work, exist_ok=True)
        log_path = osp.join(work, 'run.log')
        config = osp.join(self.root, cell.config)
        record = dict(id=cell.id, kind=cell.kind, method=cell.method.name, seed=cell.seed,
                      task=cell.task.name if cell.task else None, fraction=cell.fraction,
                      config=cell.config, commands=[], started_at=_now(),
                      threads=self.env.get('OMP_NUM_THREADS'), code=self.code)
        previous = self.record(cell)
        record['attempts'] = (previous or {}).get('attempts', 0) + 1
        start = time.time()
        try:
            options = [f'randomness.seed={cell.seed}']
            if cell.kind == 'pretrain':
                options += cell.method.cfg_options
                record['config_sha256'] = config_sha256(config, options)
                command = self.train_command(config, work, options, cell.method.train_args)
                record['commands'].append(command)
                self._run(command, log_path)
                checkpoint = self._produced_checkpoint(work)
                record.update(checkpoint=checkpoint, checkpoint_sha256=file_sha256(checkpoint))
            elif cell.task.on_pretrained:
                init = self._init_checkpoint(cell)
                options += cell.method.cfg_options + list(cell.task.cfg_options)
                record.update(init_checkpoint=init, init_checkpoint_sha256=file_sha256(init),
                              config_sha256=config_sha256(config, options),
                              tested_checkpoint=init, tested_checkpoint_sha256=file_sha256(init))
                out = osp.join(work, 'metrics.json')
                command = self.test_command(config, init, osp.join(work, 'test'), out, options)
                record['commands'].append(command)
                self._run(command, log_path)
                record['metrics'] = self._read_metrics(out)
            else:
                init = self._init_checkpoint(cell)
                options += list(cell.task.cfg_options)
                options.append(f'{cell.task.checkpoint_option}={init}' if init else
                               cell.task.checkpoint_option.rsplit('.', 1)[0] + '=None')
                record.update(init_checkpoint=init,
                              init_checkpoint_sha256=file_sha256(init) if init else None,
                              config_sha256=config_sha256(config, options))
                train_dir = osp.join(work, 'train')
                out = osp.join(work, 'metrics.json')
                extra = ['--test-out', out] if cell.task.test_in_train else []
                command = self.train_command(config, train_dir, options, extra)
                record['commands'].append(command)
                self._run(command, log_path)
                tested = self._produced_checkpoint(train_dir)
                if not cell.task.test_in_train:
                    command = self.test_command(config, tested, osp.join(work, 'test'), out,
                                                options)
                    record['commands'].append(command)
                    self._run(command, log_path)
                record.update(tested_checkpoint=tested,
                              tested_checkpoint_sha256=file_sha256(tested),
                              metrics=self._read_metrics(out))
            record['status'] = 'done'
        except Exception as e:  # a failing cell is recorded; the others go on
            record.update(status='failed', error=str(e).splitlines()[0] if str(e) else
                          type(e).__name__, log_tail=getattr(e, 'log_tail', ''))
        record['wall_s'] = round(time.time() - start, 1)
        record['finished_at'] = _now()
        self._write_record(cell, record)
        return record

    def prepare(self) -> None:
        """Run the spec's ``prepare`` commands (each once per invocation)."""
        os.makedirs(self.work_dir, exist_ok=True)
        for command in self.spec.get('prepare') or []:
            command = [self.python if c == 'python' else str(c) for c in command]
            self.log(f'benchmark: prepare: {" ".join(command)}')
            self._run(command, osp.join(self.work_dir, 'prepare.log'))

    def _log_invocation(self, start: float, cells_run: int) -> None:
        """Append this invocation to ``runs.jsonl`` (what ran, when, on what, how long)."""
        from medvlp.utils.sysinfo import cpu_model
        usable = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') \
            else os.cpu_count()
        entry = dict(started_at=time.strftime('%Y-%m-%dT%H:%M:%S%z', time.localtime(start)),
                     finished_at=_now(), wall_s=round(time.time() - start, 1),
                     cells_run=cells_run, jobs=self.jobs, fork=self.fork, code=self.code,
                     machine=f'{cpu_model()}, {usable} CPUs usable', command=self.command,
                     launcher=self.launcher['type'])
        with open(osp.join(self.work_dir, 'runs.jsonl'), 'a') as f:
            f.write(json.dumps(entry, sort_keys=True) + '\n')

    def _say(self, line: str) -> None:
        with self._log_lock:
            self.log(line)

    def run(self) -> List[dict]:
        """Run every cell that is not done yet; returns all records; writes the reports.

        With ``jobs > 1`` up to ``jobs`` cells run at once: each free slot takes the first
        cell of the plan that can start (pre-training cells come first; a downstream cell
        can start once its method's pre-training cell of that seed has ended).
        """
        todo = [c for c in self.cells if (self.record(c) or {}).get('status') != 'done']
        if self.fork and todo:  # nothing to run: not worth the imports
            preload()
        self.prepare()
        total, done_before = len(self.cells), len(self.cells) - len(todo)
        self._say(f'benchmark: {total} cells, {done_before} already done, {len(todo)} to run '
                  f'in {self.work_dir}' + (f', {self.jobs} at a time' if self.jobs > 1 else ''))
        spent: Dict[str, List[float]] = {}  # wall times per kind of cell (see _kind)
        ended: List[Cell] = []
        pending = list(todo)  # pre-training cells come first in the plan
        finished = {c.id for c in self.cells if c.kind == 'pretrain' and c not in todo}
        cond = threading.Condition()
        start = time.time()

        def ready(cell: Cell) -> bool:
            return (cell.kind == 'pretrain' or not cell.method.pretrains
                    or Cell('pretrain', cell.method, cell.seed).id in finished)

        def worker() -> None:
            while True:
                with cond:
                    cell = None
                    while pending:
                        cell = next((c for c in pending if ready(c)), None)
                        if cell is not None:
                            pending.remove(cell)
                            break
                        cond.wait()  # a pre-training cell that others need is running
                    if cell is None:
                        return
                record = self.run_cell(cell)
                with cond:
                    if cell.kind == 'pretrain':
                        finished.add(cell.id)  # done or failed: its cells may go on
                    spent.setdefault(_kind(cell), []).append(record['wall_s'])
                    ended.append(cell)
                    eta = _eta(spent, [c for c in todo if c not in ended]) / self.jobs
                    status = record['status'] + ('' if record['status'] == 'done' else
                                                 ': ' + record['error'])
                    with self._log_lock:
                        self.log(f'[{done_before + len(ended)}/{total}] {cell.id}: {status} '
                                 f'in {record["wall_s"]:.0f} s; '
                                 f'{(time.time() - start) / 60:.1f} min elapsed, '
                                 f'ETA {eta / 60:.1f} min')
                    cond.notify_all()

        threads = [threading.Thread(target=worker, name=f'benchmark-{i}', daemon=True)
                   for i in range(min(self.jobs, max(1, len(todo))))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self._log_invocation(start, len(todo))
        records = [self.record(c) for c in self.cells]
        paths = write_reports(records, self.spec, self.work_dir)
        failed = [r['id'] for r in records if r and r['status'] != 'done']
        self._say(f'benchmark: results in {paths["md"]}' +
                  (f'; {len(failed)} cell(s) failed: {", ".join(failed)}' if failed else ''))
        if self.doc:
            self.write_doc(records, paths)
        return records

    def write_doc(self, records: List[Optional[dict]], paths: Dict[str, str]) -> None:
        """Put the results into the marked block of ``self.doc`` (its plot beside it, in
        ``images/`` next to the document)."""
        name = self.spec.get('name', 'benchmark').replace(' (quick)', '-quick')
        image = None
        if 'png' in paths:
            folder = osp.join(osp.dirname(osp.abspath(self.doc)), 'images')
            os.makedirs(folder, exist_ok=True)
            image = f'images/benchmark_{name}.png'
            shutil.copyfile(paths['png'], osp.join(osp.dirname(osp.abspath(self.doc)), image))
        invocations = []
        runs = osp.join(self.work_dir, 'runs.jsonl')
        if osp.isfile(runs):
            with open(runs) as f:
                invocations = [json.loads(line) for line in f if line.strip()]
        try:
            replace_doc_block(self.doc, name, doc_block(records, self.spec, self.work_dir,
                                                        image, invocations))
        except ValueError as e:
            raise UserError(str(e)) from e
        self._say(f'benchmark: results written into {self.doc}')

# Copyright (c) medvlp contributors. All rights reserved.
"""The generic image-report dataset: one chest X-ray and its report per sample."""
import copy
import json
import logging
import os.path as osp
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmengine.fileio import exists, join_path
from mmengine.logging import print_log

from medvlp.registry import DATASETS, TRANSFORMS
from .annotation_io import read_annotation_file
from .record_fields import (SPLITS, is_empty_text, is_frontal, normalize_split,
                            normalize_view, parse_label)

#: Record fields that ``columns`` may map, and the column names tried when it does not.
COLUMN_ALIASES = {
    'img_path': ('img_path', 'image', 'image_path', 'path', 'filename'),
    'report': ('report', 'text'),
    'findings': ('findings', ),
    'impression': ('impression', ),
    'split': ('split', ),
    'view': ('view', 'ViewPosition', 'view_position'),
    'subject_id': ('subject_id', 'patient_id', 'patientid'),
    'study_id': ('study_id', 'id'),
    'dicom_id': ('dicom_id', ),
    'labels': ('labels', ),
}

UNCERTAIN_OPTIONS = ('ignore', 'positive', 'negative')
ON_MISSING_OPTIONS = ('skip', 'error', 'ignore')
ON_EMPTY_OPTIONS = ('skip', 'keep', 'error')
ON_DUPLICATE_OPTIONS = ('skip', 'keep', 'error')
#: Record fields that hold report text (besides the cached ``words``).
TEXT_FIELDS = ('report', 'findings', 'impression')


def _check_option(name: str, value: Any, options: Sequence) -> None:
    if value not in options:
        raise ValueError(f'{name} must be one of {tuple(options)}, got {value!r}')


@DATASETS.register_module()
class ImageReportDataset(BaseDataset):
    """Chest X-rays with radiology reports, one sample per image.

    The shared base of medvlp's image-report datasets and the dataset to use for your
    own data. It reads the record format of ``docs/en/user_guides/record_format.md``
    from an mmengine-style ``.json`` (as written by ``tools/dataset_converters/``), a
    plain JSON list, ``.jsonl`` or ``.csv`` file. Records that carry only raw text (a
    ``report`` column, or ``findings``/``impression`` columns) are run through
    ``medvlp.text.ReportProcessor`` once while loading.

    Loading never drops a record silently: a summary line is logged through the
    current ``MMLogger``, for example ``loaded 950 records from ann.csv; skipped: 3
    missing image, 2 empty report; filtered out: 120 other split``. When nothing is left,
    loading raises a ValueError saying which filter or skip removed the records (with an
    example path for missing images, and the file's columns when none holds report text).

    Args:
        ann_file (str): Annotation file (``.json``, ``.jsonl``, ``.csv``, optionally
            ``.gz``), relative to ``data_root`` unless absolute.
        metainfo (dict, optional): Extra meta information; overrides the file's.
        data_root (str): Root of ``ann_file`` and ``data_prefix``. Defaults to ''.
        data_prefix (str | dict): Image folder that record ``img_path`` values are
            relative to: ``dict(img_path='images')`` or just ``'images'``.
            Defaults to ''.
        split (str | Sequence[str], optional): Keep records of these splits
            (``'train'``, ``'validate'``/``'val'``, ``'test'``). None keeps all.
        views (str | Sequence[str], optional): Keep these views, e.g. ``['PA']``, or
            ``'frontal'`` for PA/AP (including ``'AP SUPINE'`` etc.). None keeps all,
            also records without a view.
        classes (str | Sequence[str], optional): Finding names that form
            ``gt_label``; a string is a file with one name per line. Defaults to the
            annotation file's ``metainfo['classes']``; without classes no
            ``gt_label`` is made.
        uncertain (str): Meaning of uncertain (-1) labels for ``gt_label``:
            ``'ignore'`` (default): not positive, and the class index is listed in
            the sample's ``uncertain_label`` so a loss can mask it; ``'positive'``
            (U-Ones); ``'negative'`` (U-Zeros). Absent labels are negative.
        columns (dict, optional): Map record fields to the file's column/key names,
            e.g. ``dict(img_path='Path', report='text')``. Mappable fields:
            ``img_path, report, findings, impression, split, view, subject_id,
            study_id, dicom_id, labels``. Unmapped fields are looked up under common
            names (``image``, ``ViewPosition``...). Label columns are the columns
            named like a class.
        on_missing (str): A record whose image file does not exist is ``'skip'``-ped
            and counted (default), raises an ``'error'``, or is kept unchecked with
            ``'ignore'`` (no file system access while loading, e.g. remote storage).
        on_empty_report (str): A record whose report is empty/NaN (or has no text
            at all) is ``'skip'``-ped and counted (default), kept as an image-only
            record with empty text fields (``'keep'``), or raises (``'error'``). The
            strings ``NaN``, ``nan``, ``None`` and ``null`` count as empty.
        on_duplicate (str): Records whose image path already appeared (after the
            other filters and skips) are counted and warned about, and kept
            (``'keep'``, default), ``'skip'``-ped (only the first is kept), or raise
            (``'error'``).
        text_source (str): ``source`` passed to ``ReportProcessor.process_report``
            for raw text: ``'report'`` (sectioned radiology reports) or ``'note'``
            (free clinical notes). Defaults to ``'report'``.
        report_processor (dict, optional): Keyword arguments of
            ``medvlp.text.ReportProcessor`` for raw text. Defaults to None.
        backend_args (dict, optional): mmengine file backend arguments for reading
            the annotation file and checking images. Defaults to None.
        pipeline (Sequence): Transforms (configs are built from medvlp's registry,
            which also finds mmcv's and, with a prefix, mmpretrain's).
        test_mode (bool): Test mode; a transform that returns None then raises
            instead of a random other sample being fetched. Defaults to False.
        lazy_init (bool): Load annotations only when first needed. Defaults to False.
        indices (int | Sequence[int], optional): Keep only these (or the first N)
            records, after filtering. Defaults to None.
        serialize_data (bool): Hold records as one serialized buffer shared by
            dataloader workers. Defaults to True.
        max_refetch (int): Retries with random other samples when the pipeline
            returns None. Defaults to 1000.
    """

    METAINFO: dict = dict()

    def __init__(self,
                 ann_file: str,
                 metainfo: Optional[dict] = None,
                 data_root: str = '',
                 data_prefix: Union[str, dict] = '',
                 split: Union[str, Sequence[str], None] = None,
                 views: Union[str, Sequence[str], None] = None,
                 classes: Union[str, Sequence[str], None] = None,
                 uncertain: str = 'ignore',
                 columns: Optional[Dict[str, str]] = None,
                 on_missing: str = 'skip',
                 on_empty_report: str = 'skip',
                 on_duplicate: str = 'keep',
                 text_source: str = 'report',
                 report_processor: Optional[dict] = None,
                 backend_args: Optional[dict] = None,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 lazy_init: bool = False,
                 indices: Union[int, Sequence[int], None] = None,
                 serialize_data: bool = True,
                 max_refetch: int = 1000) -> None:
        _check_option('uncertain', uncertain, UNCERTAIN_OPTIONS)
        _check_option('on_missing', on_missing, ON_MISSING_OPTIONS)
        _check_option('on_empty_report', on_empty_report, ON_EMPTY_OPTIONS)
        _check_option('on_duplicate', on_duplicate, ON_DUPLICATE_OPTIONS)
        _check_option('text_source', text_source, ('report', 'note'))
        self.split = self._parse_split_arg(split)
        self.views = self._parse_views_arg(views)
        self.uncertain = uncertain
        self.columns = self._parse_columns_arg(columns)
        self.on_missing = on_missing
        self.on_empty_report = on_empty_report
        self.on_duplicate = on_duplicate
        self.text_source = text_source
        self.report_processor_cfg = dict(report_processor or {})
        self.backend_args = copy.deepcopy(backend_args)
        #: Counts of the last load: kept records, skips and filters by reason.
        self.load_summary: Dict[str, int] = {}

        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        metainfo = dict(metainfo or {})
        if classes is not None:
            metainfo['classes'] = self._parse_classes_arg(classes)
        transforms = [TRANSFORMS.build(t) if isinstance(t, dict) else t for t in pipeline]
        super().__init__(
            ann_file=osp.expanduser(ann_file),
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            indices=indices,
            serialize_data=serialize_data,
            pipeline=transforms,
            test_mode=test_mode,
            lazy_init=lazy_init,
            max_refetch=max_refetch)

    # ------------------------------------------------------------------ arguments
    @staticmethod
    def _parse_split_arg(split) -> Optional[Tuple[str, ...]]:
        if split is None:
            return None
        names = [split] if isinstance(split, str) else list(split)
        normalized = tuple(normalize_split(s) for s in names)
        for name, norm in zip(names, normalized):
            if norm not in SPLITS:
                raise ValueError(f'split must be None or one of {SPLITS} (or "val"), '
                                 f'got {name!r}')
        return normalized

    @staticmethod
    def _parse_views_arg(views) -> Optional[Union[str, Tuple[str, ...]]]:
        if views is None:
            return None
        if isinstance(views, str):
            if views.lower() == 'frontal':
                return 'frontal'
            views = [views]
        normalized = tuple(normalize_view(v) for v in views)
        if not normalized or None in normalized:
            raise ValueError(f"views must be None, 'frontal' or a list of view names such "
                             f"as ['PA', 'AP', 'LATERAL'], got {views!r}")
        return normalized

    @staticmethod
    def _parse_columns_arg(columns) -> Dict[str, Any]:
        columns = dict(columns or {})
        unknown = sorted(set(columns) - set(COLUMN_ALIASES))
        if unknown:
            raise ValueError(f'columns has unknown record fields {unknown}; the fields '
                             f'that can be mapped are {sorted(COLUMN_ALIASES)}')
        return columns

    @staticmethod
    def _parse_classes_arg(classes) -> Tuple[str, ...]:
        if isinstance(classes, str):
            from mmengine import list_from_file
            return tuple(list_from_file(osp.expanduser(classes)))
        if isinstance(classes, (list, tuple)):
            return tuple(str(c) for c in classes)
        raise ValueError(f'classes must be a file path or a list of names, got '
                         f'{type(classes).__name__}')

    # ------------------------------------------------------------------ metainfo
    @property
    def CLASSES(self) -> Optional[Tuple[str, ...]]:
        """Class names of ``gt_label``, or None."""
        classes = self._metainfo.get('classes')
        return tuple(classes) if classes is not None else None

    @property
    def class_to_idx(self) -> Dict[str, int]:
        """Map from class name to index."""
        return {name: i for i, name in enumerate(self.CLASSES or ())}

    @property
    def img_prefix(self) -> str:
        """The folder that records' ``img_path`` values are relative to."""
        return self.data_prefix.get('img_path', '')

    def get_cat_ids(self, idx: int) -> List[int]:
        """Positive class indices of a sample (for ``ClassBalancedDataset``)."""
        return list(self.get_data_info(idx).get('gt_label', []))

    # ------------------------------------------------------------------ loading
    def read_records(self) -> Tuple[dict, List[dict]]:
        """Read the annotation file into ``(metainfo, raw rows)``.

        Subclasses override this to accept other layouts; rows are then normalised by
        :meth:`parse_data_info`.
        """
        return read_annotation_file(self.ann_file, self.backend_args)

    def load_data_list(self) -> List[dict]:
        """Read, normalise, filter, check and (if needed) text-process the records."""
        file_metainfo, rows = self.read_records()
        for key, value in file_metainfo.items():
            self._metainfo.setdefault(key, value)
        if self._metainfo.get('classes') is not None:
            self._metainfo['classes'] = tuple(self._metainfo['classes'])
        self._check_mapped_columns(rows)
        counts = Counter()

        records = []
        for row in rows:
            parsed = self.parse_data_info(row)
            records.extend(parsed if isinstance(parsed, list) else [parsed])
        num_read = len(records)
        self._check_text_columns(rows, records)
        records = self._filter_split_and_view(records, counts)
        records = self._check_images(records, counts)
        records = self._process_text(records, counts)
        records = self._drop_duplicates(records, counts)
        for record in records:
            self._add_gt_label(record)
        self._cache_tokens(records)

        counts['loaded'] = len(records)
        self.load_summary = dict(counts)
        self._log_summary(counts)
        if not records:
            raise ValueError(self._explain_empty(counts, num_read))
        return records

    def _cache_tokens(self, records: List[dict]) -> None:
        """Let the pipeline's ``TokenizeReport`` steps cache each record's word pieces.

        Done once here, in the main process, so that dataloader workers only slice the
        cached pieces (``TokenizeReport.cache_record``; the arrays are the same).
        """
        for transform in getattr(self.pipeline, 'transforms', ()):
            cache_record = getattr(transform, 'cache_record', None)
            if callable(cache_record):
                for record in records:
                    cache_record(record)

    def _check_text_columns(self, rows: List[dict], records: List[dict]) -> None:
        """Refuse a file none of whose records has report text under a known name
        (unless ``on_empty_report='keep'`` asks for image-only records)."""
        if not records or self.on_empty_report == 'keep':
            return
        if any('words' in r or any(f in r for f in TEXT_FIELDS) for r in records):
            return
        keys = sorted(set().union(*(row.keys() for row in rows[:1000])))
        looked_for = sorted({name for field in TEXT_FIELDS
                             for name in ([self.columns[field]] if field in self.columns
                                          else COLUMN_ALIASES[field])})
        raise ValueError(
            f'{self.ann_file}: no record has report text; looked for the columns '
            f'{looked_for} but the file has {keys}. Name the report column with '
            "columns=dict(report='<column>') (or findings=/impression=), or set "
            "on_empty_report='keep' for image-only records")

    def _drop_duplicates(self, records: List[dict], counts: Counter) -> List[dict]:
        seen: Dict[str, int] = {}
        kept = []
        for record in records:
            path = record['img_path']
            if path not in seen:
                seen[path] = 1
                kept.append(record)
                continue
            seen[path] += 1
            if self.on_duplicate == 'error':
                raise ValueError(f'{self.ann_file}: image "{path}" appears in more than one '
                                 "record; set on_duplicate='skip' to keep only the first")
            counts['duplicate'] += 1
            if self.on_duplicate == 'keep':
                kept.append(record)
        if counts['duplicate']:
            examples = [p for p, n in seen.items() if n > 1][:3]
            action = 'kept' if self.on_duplicate == 'keep' else 'skipped'
            print_log(f'{type(self).__name__}: {counts["duplicate"]} records of '
                      f'{self.ann_file} repeat an image path already listed ({action}), '
                      f'e.g. {examples}', logger='current', level=logging.WARNING)
        return kept

    def _explain_empty(self, counts: Counter, num_read: int) -> str:
        """Why no record is left, naming the filters and skips that removed them."""
        if not num_read:
            return f'{self.ann_file} holds no records'
        removed = [f'{counts[k]} {k}' for k in ('other split', 'other view', 'duplicate',
                                               'missing image', 'empty report')
                   if counts[k]]
        message = (f'{type(self).__name__}: none of the {num_read} records of '
                   f'{self.ann_file} is left: ' + ', '.join(removed))
        if counts['other split']:
            message += f' (split={list(self.split)})'
        if counts['other view']:
            views = self.views if isinstance(self.views, str) else list(self.views)
            message += f' (views={views!r})'
        if counts['missing image']:
            message += (f'; images are looked for under data_prefix "{self.img_prefix}" '
                        f'(e.g. "{self._first_missing}"): check data_root and data_prefix')
        return message

    def parse_data_info(self, raw_data_info: dict) -> Union[dict, List[dict]]:
        """Normalise one raw row into a record (or one record per image).

        Applies ``columns``, normalises split/view/labels, joins ``img_path`` with the
        image prefix and expands a list of image paths into one record per image.
        """
        row = dict(raw_data_info)
        record: Dict[str, Any] = {}
        for field, aliases in COLUMN_ALIASES.items():
            names = [self.columns[field]] if field in self.columns else aliases
            for name in names:
                if name in row:
                    record[field] = row.pop(name)
                    break
        # Everything else (cached text fields, extra columns) is carried over unchanged,
        # except columns named like a class, which become labels.
        classes = self.CLASSES or ()
        labels = record.get('labels')
        if isinstance(labels, str):  # a JSON-encoded dict in a CSV cell
            try:
                labels = json.loads(labels) if labels.strip() else {}
            except json.JSONDecodeError as e:
                raise ValueError(f'{self.ann_file}: a "labels" cell is not a JSON dict: '
                                 f'{labels[:80]!r}') from e
        if not isinstance(labels, (dict, type(None))):
            raise ValueError(f'{self.ann_file}: "labels" must be a dict of finding -> '
                             f'1/0/-1, got {type(labels).__name__}')
        labels = dict(labels or {})
        for name in classes:
            if name in row:
                labels[name] = row.pop(name)
        for key, value in row.items():  # mapped fields win over same-named columns
            record.setdefault(key, value)
        try:
            record['labels'] = {
                name: value
                for name, value in ((k, parse_label(v)) for k, v in labels.items())
                if value is not None
            }
        except ValueError as e:
            raise ValueError(f'{self.ann_file}: record {record.get("img_path")}: {e}') from e
        record['split'] = normalize_split(record.get('split'))
        record['view'] = normalize_view(record.get('view'))
        for key in ('subject_id', 'study_id', 'dicom_id'):
            if key in record and record[key] is not None:
                record[key] = str(record[key])

        img_path = record.get('img_path')
        if img_path is None or img_path == '' or img_path == []:
            names = [self.columns['img_path']] if 'img_path' in self.columns \
                else list(COLUMN_ALIASES['img_path'])
            raise ValueError(
                f'{self.ann_file}: a record has no image path (looked for {names}); set '
                "columns=dict(img_path='<your column>') to name the column. Record keys: "
                f'{sorted(raw_data_info)}')
        if isinstance(img_path, (list, tuple)):
            expanded = []
            for i, path in enumerate(img_path):
                item = copy.deepcopy(record)
                item['img_path'] = self._join_img_prefix(path)
                item['image_index'] = i
                expanded.append(item)
            return expanded
        record['img_path'] = self._join_img_prefix(img_path)
        return record

    def _join_img_prefix(self, path: str) -> str:
        prefix = self.img_prefix
        return join_path(prefix, str(path)) if prefix else str(path)

    def _check_mapped_columns(self, rows: List[dict]) -> None:
        if not rows:
            return
        keys = set().union(*(row.keys() for row in rows[:1000]))
        missing = {field: name for field, name in self.columns.items() if name not in keys}
        if missing:
            raise ValueError(f'{self.ann_file}: columns maps {missing} but the file has no '
                             f'such column/key; it has {sorted(keys)}')

    def _filter_split_and_view(self, records: List[dict], counts: Counter) -> List[dict]:
        if self.split is not None and records and all(r['split'] is None for r in records):
            raise ValueError(f'split={list(self.split)} was given but no record in '
                             f'{self.ann_file} has a split; set split=None or add a split '
                             "column ('train', 'validate', 'test')")
        kept = []
        for record in records:
            if self.split is not None and record['split'] not in self.split:
                counts['other split'] += 1
            elif self.views is not None and not self._view_ok(record['view']):
                counts['other view'] += 1
            else:
                kept.append(record)
        return kept

    def _view_ok(self, view: Optional[str]) -> bool:
        if self.views == 'frontal':
            return is_frontal(view)
        return view in self.views

    def _check_images(self, records: List[dict], counts: Counter) -> List[dict]:
        if self.on_missing == 'ignore':
            return records
        kept = []
        for record in records:
            path = record['img_path']
            found = exists(path, backend_args=self.backend_args) if self.backend_args \
                else osp.isfile(path)
            if found:
                kept.append(record)
            elif self.on_missing == 'error':
                raise FileNotFoundError(
                    f'image "{path}" of {self.ann_file} does not exist (check data_root/'
                    "data_prefix, or set on_missing='skip' to skip and count such records)")
            else:
                if not counts['missing image']:
                    self._first_missing = path
                counts['missing image'] += 1
        return kept

    def _process_text(self, records: List[dict], counts: Counter) -> List[dict]:
        raw = [r for r in records if 'words' not in r]
        if not raw:
            return records
        processor = None
        kept = []
        for record in records:
            if 'words' in record:
                kept.append(record)
                continue
            if processor is None:
                processor = self._build_report_processor(len(raw))
            fields = self._process_record_text(processor, record)
            if fields is not None:
                counts['processed'] += 1
            else:
                if self.on_empty_report == 'error':
                    raise ValueError(
                        f'record of image "{record["img_path"]}" in {self.ann_file} has an '
                        "empty report; set on_empty_report='skip' to skip and count such "
                        "records or 'keep' to keep them image-only")
                if self.on_empty_report == 'skip':
                    counts['empty report'] += 1
                    continue
                counts['image-only'] += 1
                fields = dict(sections={}, report='', sentences=[], words=[],
                              sentence_ids=[], mesh=[])
            record.pop('findings', None)
            record.pop('impression', None)
            record.update(fields)
            kept.append(record)
        return kept

    def _process_record_text(self, processor, record: dict) -> Optional[dict]:
        """Text fields of a raw record, or None when its report is empty.

        A ``report`` is processed as a whole (``text_source``); without one, separate
        ``findings``/``impression`` fields go through ``process_sections``.
        """
        from medvlp.text import EmptyReportError
        text = record.get('report')
        sections = {name: record.get(name) for name in ('findings', 'impression')
                    if not is_empty_text(record.get(name))}
        try:
            if not is_empty_text(text):
                return processor.process_report(text, source=self.text_source)
            if sections:
                return processor.process_sections(sections)
        except EmptyReportError:
            pass
        return None

    def _build_report_processor(self, num_raw: int):
        try:
            from medvlp.text import ReportProcessor
        except ImportError as e:
            raise ImportError(
                f'{num_raw} records of {self.ann_file} carry raw report text, which needs '
                'medvlp.text.ReportProcessor; it could not be imported') from e
        print_log(
            f'{type(self).__name__}: processing {num_raw} raw reports of {self.ann_file} '
            'with ReportProcessor (convert once with a tools/dataset_converters script '
            'to cache this)',
            logger='current')
        return ReportProcessor(**self.report_processor_cfg)

    def _add_gt_label(self, record: dict) -> None:
        classes = self.CLASSES
        if classes is None:
            return
        labels = record.get('labels', {})
        positives, uncertain = [], []
        for index, name in enumerate(classes):
            value = labels.get(name)
            if value == 1 or (value == -1 and self.uncertain == 'positive'):
                positives.append(index)
            elif value == -1 and self.uncertain == 'ignore':
                uncertain.append(index)
        record['gt_label'] = positives
        if self.uncertain == 'ignore':
            record['uncertain_label'] = uncertain

    def _log_summary(self, counts: Counter) -> None:
        skipped = ', '.join(f'{counts[k]} {k}' for k in ('missing image', 'empty report'))
        if counts['duplicate'] and self.on_duplicate == 'skip':
            skipped += f', {counts["duplicate"]} duplicate'
        message = (f'{type(self).__name__}: loaded {counts["loaded"]} records from '
                   f'{self.ann_file}; skipped: {skipped}')
        filtered = [f'{counts[k]} {k}' for k in ('other split', 'other view') if counts[k]]
        if filtered:
            message += '; filtered out: ' + ', '.join(filtered)
        if counts['processed']:
            message += f'; {counts["processed"]} raw reports processed'
        if counts['image-only']:
            message += f'; {counts["image-only"]} kept image-only (empty report)'
        if self.on_missing == 'ignore':
            message += '; image files not checked'
        print_log(message, logger='current')

    def extra_repr(self) -> List[str]:
        """Lines added to ``repr(dataset)``."""
        return [
            f'Annotation file: \t{self.ann_file}', f'Prefix of images: \t{self.img_prefix}',
            f'Split: \t{self.split}', f'Views: \t{self.views}'
        ]

    def __repr__(self) -> str:
        head = f'Dataset {type(self).__name__}'
        body = [f'Number of samples: \t{len(self)}'] if self._fully_initialized \
            else ["Haven't been initialized"]
        if self.CLASSES is not None:
            body.append(f'Number of categories: \t{len(self.CLASSES)}')
        body.extend(self.extra_repr())
        return '\n'.join([head] + ['    ' + line for line in body])

# Copyright (c) medvlp contributors. All rights reserved.
"""IU X-ray (OpenI) images with their reports."""
import json
from typing import List, Sequence, Tuple, Union

from mmengine.fileio import exists

from medvlp.registry import DATASETS
from .annotation_io import json_records, read_annotation_file, read_text
from .image_report import ImageReportDataset
from .record_fields import normalize_split

#: NegBio gold-standard labels of IU X-ray (``openi_gld_std14.csv``), in file order.
OPENI_CLASSES = ('Atelectasis', 'Cardiomegaly', 'Effusion', 'Infiltration', 'Mass', 'Nodule',
                 'Pneumonia', 'Pneumothorax', 'Consolidation', 'Edema', 'Emphysema', 'Fibrosis',
                 'Pleural_Thickening', 'Hernia', 'normal')

#: Top-level keys of the report-generation layout (R2Gen's ``annotation.json``).
REPORT_GENERATION_SPLITS = ('train', 'val', 'test')


def is_report_generation_layout(content) -> bool:
    """Whether ``content`` is ``{"train": [...], "val": [...], "test": [...]}``."""
    return (isinstance(content, dict) and bool(content)
            and set(content) <= set(REPORT_GENERATION_SPLITS)
            and all(isinstance(v, list) for v in content.values()))


def convert_report_generation_layout(content: dict) -> List[dict]:
    """Turn R2Gen-style entries into medvlp rows (one row per study, images as a list).

    Each entry is ``{"id", "report", "image_path": [...], "split"}`` (MIMIC-CXR's version
    adds ``study_id`` and ``subject_id``). The ``id`` becomes ``study_id``; for IU X-ray
    ids such as ``CXR2384_IM-0942`` the part before the first ``_`` is the report uid,
    kept as ``subject_id``.
    """
    rows = []
    for split_key in REPORT_GENERATION_SPLITS:
        for entry in content.get(split_key, []):
            entry_id = str(entry.get('id', ''))
            row = dict(
                img_path=list(entry.get('image_path') or []),
                report=entry.get('report'),
                split=normalize_split(entry.get('split') or split_key),
                study_id=str(entry.get('study_id', entry_id)),
                subject_id=str(entry.get('subject_id', entry_id.split('_')[0])),
            )
            rows.append(row)
    return rows


@DATASETS.register_module()
class OpenIDataset(ImageReportDataset):
    """IU X-ray / OpenI chest X-rays with their reports.

    Accepts two annotation layouts:

    - the medvlp annotation file written by
      ``tools/dataset_converters/prepare_openi.py`` (one record per image, cached text
      fields, MeSH tags in ``openi_mesh``, NegBio labels in ``labels``);
    - the report-generation ``annotation.json`` used by R2Gen and its successors,
      ``{"train": [{"id", "report", "image_path": [...], "split"}], "val": [...],
      "test": [...]}``. Its reports are processed with ``ReportProcessor`` while
      loading and every study is expanded to one record per image.

    Args:
        ann_file (str): The annotation file.
        split (str | Sequence[str], optional): Split(s) to keep. Defaults to None
            (all); ``'val'`` and ``'validate'`` are the same split.
        views (str | Sequence[str], optional): Views to keep. Defaults to None: OpenI
            ships no view position (the converter can add a heuristic guess).
        **kwargs: Other arguments of :class:`ImageReportDataset`.
    """

    METAINFO = dict(dataset_name='OpenI')

    def __init__(self,
                 ann_file: str,
                 split: Union[str, Sequence[str], None] = None,
                 views: Union[str, Sequence[str], None] = None,
                 **kwargs) -> None:
        super().__init__(ann_file=ann_file, split=split, views=views, **kwargs)

    def read_records(self) -> Tuple[dict, List[dict]]:
        """Read either layout; see the class docstring."""
        path = self.ann_file
        if path.endswith(('.json', '.json.gz')) and exists(path, backend_args=self.backend_args):
            content = json.loads(read_text(path, self.backend_args))
            if is_report_generation_layout(content):
                return dict(layout='report-generation'), \
                    convert_report_generation_layout(content)
            return json_records(content, path)
        return read_annotation_file(path, self.backend_args)

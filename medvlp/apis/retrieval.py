# Copyright (c) medvlp contributors. All rights reserved.
"""Image <-> report retrieval: embed a corpus once into an index file, then query it."""
import hashlib
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.config import Config

from medvlp.utils.cli import UserError
from .embedding import ImageEmbedder, ReportEmbedder
from .model import init_model, require_alignment_model

#: ``format`` tag of index files, and the version of their layout.
INDEX_FORMAT = 'medvlp-retrieval-index'
INDEX_VERSION = 1
MODALITIES = ('report', 'image')


def model_fingerprint(model: torch.nn.Module) -> Dict[str, object]:
    """What identifies the embedding space of a model: its type, dimension and a hash of
    the weights of its global projections (an index only makes sense for that space)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        if name.startswith(('img_neck.', 'text_neck.')):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().float().numpy().tobytes())
    dim = model.img_neck.global_proj.out_features
    return dict(type=type(model).__name__, dim=int(dim), weights_sha256=digest.hexdigest())


class RetrievalIndex:
    """L2-normalised embeddings of a report and/or an image collection, with their ids.

    Scores are cosine similarities of the global embeddings (the model's global
    image-report alignment score), so the top-k of a query are the items whose
    embeddings point in the closest direction.

    Args:
        collections (dict): ``{'report' | 'image': dict(embeddings=[N, D] tensor,
            ids=[N str], items=[N str])}``; ``items`` hold the report texts or image paths.
        model (dict): :func:`model_fingerprint` of the model that embedded them.
    """

    def __init__(self, collections: Dict[str, dict], model: Dict[str, object]) -> None:
        unknown = set(collections) - set(MODALITIES)
        if unknown or not collections:
            raise ValueError(f'collections must be some of {MODALITIES}, got '
                             f'{sorted(collections)}')
        for name, coll in collections.items():
            n = coll['embeddings'].size(0)
            if len(coll['ids']) != n or len(coll['items']) != n:
                raise ValueError(f'{name}: {n} embeddings but {len(coll["ids"])} ids and '
                                 f'{len(coll["items"])} items')
        self.collections = collections
        self.model = dict(model)

    def __len__(self) -> int:
        return sum(len(c['ids']) for c in self.collections.values())

    def __repr__(self) -> str:
        sizes = ', '.join(f'{len(c["ids"])} {name}s' for name, c in self.collections.items())
        return f'RetrievalIndex({sizes}; {self.model["type"]}, {self.model["dim"]}-d)'

    def save(self, path: str) -> str:
        """Write the index to ``path`` (a torch file of plain tensors, lists and strings)."""
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
        torch.save(dict(format=INDEX_FORMAT, version=INDEX_VERSION, model=self.model,
                        collections=self.collections), path)
        return path

    @classmethod
    def load(cls, path: str) -> 'RetrievalIndex':
        """Read an index written by :meth:`save` (no code is unpickled).

        Raises:
            UserError: If the file is missing or is not a medvlp retrieval index.
        """
        if not osp.isfile(path):
            raise UserError(f'retrieval index "{path}" does not exist')
        try:
            data = torch.load(path, map_location='cpu', weights_only=True)
        except Exception as e:
            raise UserError(f'"{path}" is not a retrieval index: {type(e).__name__}') from e
        if not isinstance(data, dict) or data.get('format') != INDEX_FORMAT:
            raise UserError(f'"{path}" is not a medvlp retrieval index')
        if data.get('version') != INDEX_VERSION:
            raise UserError(f'"{path}" is an index of version {data.get("version")}; this '
                            f'medvlp reads version {INDEX_VERSION}: rebuild it')
        return cls(data['collections'], data['model'])

    def check_model(self, model: torch.nn.Module) -> None:
        """Raise a UserError if ``model`` embeds into another space than the index's."""
        theirs = model_fingerprint(model)
        if theirs != self.model:
            raise UserError(f'the index was built with another model ({self.model["type"]}, '
                            f'{self.model["dim"]}-d, weights {self.model["weights_sha256"][:8]})'
                            f' than this one ({theirs["type"]}, {theirs["dim"]}-d, weights '
                            f'{theirs["weights_sha256"][:8]}); rebuild it with this checkpoint')

    def search(self, queries: torch.Tensor, target: str, topk: int = 5) -> List[List[dict]]:
        """Top-k items of collection ``target`` for each of ``[Q, D]`` query embeddings.

        Returns:
            list: Per query, ``topk`` dicts ``rank`` (1-based), ``index``, ``id``,
            ``item`` (text or image path) and ``score`` (cosine similarity), best first.
        """
        if target not in self.collections:
            raise UserError(f'the index holds no {target}s (it has '
                            f'{", ".join(self.collections)}); build it with {target}s')
        coll = self.collections[target]
        queries = torch.nn.functional.normalize(queries.float(), dim=-1)
        if queries.size(-1) != coll['embeddings'].size(-1):
            raise UserError(f'queries are {queries.size(-1)}-d but the index is '
                            f'{coll["embeddings"].size(-1)}-d')
        scores = queries @ coll['embeddings'].float().T
        k = min(topk, scores.size(1))
        top = scores.topk(k, dim=1)
        return [[dict(rank=r + 1, index=int(i), id=coll['ids'][int(i)],
                      item=coll['items'][int(i)], score=float(s))
                 for r, (s, i) in enumerate(zip(vals, idx))]
                for vals, idx in zip(top.values, top.indices)]


class ImageReportRetriever:
    """Build retrieval indexes and query them with images or reports.

    Works with any image-report alignment model (JoImTeRNet, MedIM). One model serves
    an :class:`ImageEmbedder` and a :class:`ReportEmbedder`.

    Args:
        model (str | Config | nn.Module): Config or model.
        pretrained (str, optional): Checkpoint.
        device (str, optional): Defaults to ``'cpu'``.
        cfg_options (dict, optional): Config overrides.
        text_source (str, optional): How raw report text is processed; see
            :class:`ReportEmbedder`.

    Example:
        >>> retriever = ImageReportRetriever(CONFIG, CHECKPOINT)
        >>> index = retriever.build_index(reports=notes, report_ids=study_ids)
        >>> index.save('notes.index.pth')
        >>> hits = retriever.search(RetrievalIndex.load('notes.index.pth'),
        ...                         images=['chest.png'], topk=3)
        >>> hits[0][0]['id'], hits[0][0]['score']
    """

    def __init__(self,
                 model: Union[str, Config, torch.nn.Module],
                 pretrained: Optional[str] = None,
                 device: Union[str, torch.device, None] = None,
                 cfg_options: Optional[dict] = None,
                 text_source: Optional[str] = None) -> None:
        if not isinstance(model, torch.nn.Module):
            model = init_model(model, pretrained, device or 'cpu', cfg_options)
            pretrained = None
        require_alignment_model(model, 'retrieval')
        self.model = model
        self.images = ImageEmbedder(model, pretrained, device)
        self.reports = ReportEmbedder(model, None, device, text_source=text_source)

    def build_index(self,
                    reports: Optional[Sequence] = None,
                    images: Optional[Sequence] = None,
                    report_ids: Optional[Sequence[str]] = None,
                    image_ids: Optional[Sequence[str]] = None,
                    batch_size: int = 16) -> RetrievalIndex:
        """Embed reports (strings or records) and/or images (paths) into an index.

        Ids default to the position (reports) or the file path (images).
        """
        if not reports and not images:
            raise UserError('build_index needs reports, images or both')
        collections = {}
        if reports:
            ids = list(report_ids) if report_ids is not None else \
                [str(i) for i in range(len(reports))]
            texts = [r if isinstance(r, str) else r.get('report', ' '.join(r['words']))
                     for r in reports]
            collections['report'] = self._collection(self.reports, reports, ids, texts,
                                                     batch_size)
        if images:
            ids = list(image_ids) if image_ids is not None else [str(p) for p in images]
            collections['image'] = self._collection(self.images, images, ids,
                                                    [str(p) for p in images], batch_size)
        return RetrievalIndex(collections, model_fingerprint(self.model))

    @staticmethod
    def _collection(embedder, inputs, ids, items, batch_size) -> dict:
        if len(ids) != len(inputs):
            raise UserError(f'{len(inputs)} inputs but {len(ids)} ids')
        feats = embedder.embed(list(inputs), batch_size=batch_size)['global_feat']
        return dict(embeddings=feats.float(), ids=[str(i) for i in ids],
                    items=[str(i) for i in items])

    def search(self,
               index: RetrievalIndex,
               images: Optional[Sequence] = None,
               reports: Optional[Sequence] = None,
               topk: int = 5,
               target: Optional[str] = None,
               batch_size: int = 16) -> List[List[dict]]:
        """Top-k of every query; images search the reports and reports the images unless
        ``target`` says otherwise (``'image'`` for image-to-image search)."""
        if bool(images) == bool(reports):
            raise UserError('search takes either images or reports as queries')
        index.check_model(self.model)
        if images:
            feats = self.images.embed(list(images), batch_size=batch_size)['global_feat']
        else:
            feats = self.reports.embed(list(reports), batch_size=batch_size)['global_feat']
        target = target or ('report' if images else 'image')
        return index.search(feats, target, topk)

# Copyright (c) medvlp contributors. All rights reserved.
"""Image normalisation that also takes one-channel (grey) batches."""
from typing import List, Union

import torch
from mmpretrain.models.utils.data_preprocessor import SelfSupDataPreprocessor

from medvlp.datasets.collate import DataSampleBatch
from medvlp.registry import MODELS

Inputs = Union[torch.Tensor, List[torch.Tensor]]


@MODELS.register_module()
class CXRDataPreprocessor(SelfSupDataPreprocessor):
    """mmpretrain's ``SelfSupDataPreprocessor`` that repeats grey batches on the device.

    A chest X-ray has one grey channel; ImageNet-style backbones take ``num_channels``
    (three) identical ones. A training loader that keeps the one channel
    (``CXRRandomResizedCrop(channels=1)``) collates ``(B, 1, H, W)`` batches: a third
    of the bytes through the dataloader workers' shared memory, the pinned buffers and
    the host-to-device copy. This preprocessor moves such a batch to the device, repeats
    the channel there (a view, no copy) and then does exactly what
    ``SelfSupDataPreprocessor`` does: optional BGR-to-RGB, float, normalisation. The
    values are those of the same image sent with three channels.

    Batches that already have ``num_channels`` channels, and the lists of views of
    multi-view algorithms, go through ``SelfSupDataPreprocessor`` unchanged. Data samples
    collated by :func:`~medvlp.datasets.image_report_collate` are copied to the device
    with one copy per text field instead of one per sample and field.

    Args:
        num_channels (int): Channels the backbone takes. Defaults to 3.
        **kwargs: ``SelfSupDataPreprocessor``'s arguments (``mean``, ``std``,
            ``to_rgb``, ``pad_size_divisor``, ``pad_value``, ``non_blocking``).

    Raises:
        ValueError: In :meth:`forward`, for an image batch that has neither one
            channel nor ``num_channels``.
    """

    def __init__(self, num_channels: int = 3, **kwargs) -> None:
        if num_channels < 1:
            raise ValueError(f'num_channels must be >= 1, got {num_channels!r}')
        super().__init__(**kwargs)
        self.num_channels = num_channels

    def expand_channels(self, inputs: Inputs) -> Inputs:
        """A one-channel batch of ``inputs`` moved to the device and repeated to
        ``num_channels`` (a view); other batches as they are (``forward`` moves them).

        Args:
            inputs (torch.Tensor | list): A ``(B, C, H, W)`` batch, or a list of them.

        Returns:
            torch.Tensor | list: The same structure.
        """
        if isinstance(inputs, (list, tuple)):
            return [self.expand_channels(view) for view in inputs]
        if not isinstance(inputs, torch.Tensor) or inputs.dim() != 4:
            return inputs
        channels = inputs.shape[1]
        if channels == self.num_channels:
            return inputs
        if channels != 1:
            raise ValueError(
                f'CXRDataPreprocessor takes image batches of 1 or {self.num_channels} '
                f'channels, got {tuple(inputs.shape)} (B, C, H, W); check the channels '
                'of LoadCXRImage and CXRRandomResizedCrop in the pipeline')
        # moved first, so only the one channel crosses to the device
        return self.cast_data(inputs).expand(-1, self.num_channels, -1, -1)

    def cast_data(self, data):
        """mmengine's ``cast_data``; a :class:`~medvlp.datasets.DataSampleBatch` (what
        ``image_report_collate`` gives) is copied to the device one block per field."""
        if isinstance(data, DataSampleBatch):
            return data.to(self.device, non_blocking=self._non_blocking)
        return super().cast_data(data)

    def forward(self, data: dict, training: bool = False) -> dict:
        """``SelfSupDataPreprocessor.forward`` after :meth:`expand_channels`."""
        if isinstance(data, dict) and 'inputs' in data:
            data = dict(data, inputs=self.expand_channels(data['inputs']))
        return super().forward(data, training)

# Copyright (c) medvlp contributors. All rights reserved.
from .formatting import (DEFAULT_META_KEYS, DEFAULT_TEXT_KEYS,
                         PackImageReportInputs, stack_data_sample_fields)
from .loading import (CorruptImageError, LoadCXRImage, decode_dicom,
                      decode_image)
from .processing import CXRRandomResizedCrop, grey_to_channels
from .text import TokenizeReport, keyword_flags

__all__ = [
    'LoadCXRImage', 'CorruptImageError', 'decode_image', 'decode_dicom', 'TokenizeReport',
    'keyword_flags', 'PackImageReportInputs', 'stack_data_sample_fields', 'DEFAULT_TEXT_KEYS',
    'DEFAULT_META_KEYS', 'CXRRandomResizedCrop', 'grey_to_channels'
]

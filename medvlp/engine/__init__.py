# Copyright (c) medvlp contributors. All rights reserved.

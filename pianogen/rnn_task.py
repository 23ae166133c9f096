"""Earlier name of :mod:`pianogen.autoregressive_task` (it holds the Transformer too now).

``import pianogen.rnn_task`` gives that very module, so old imports, and tests that patch it,
keep working.
"""

import sys

from pianogen import autoregressive_task

sys.modules[__name__] = autoregressive_task

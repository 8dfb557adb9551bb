"""``python -m hookrelay_local.lambda_runtime``: the local Lambda runtime as a process."""

import sys

from hookrelay_local.lambda_runtime.runtime import main

sys.exit(main())

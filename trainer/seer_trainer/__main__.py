import os

# Torch parallelises over its own threads (config "threads"); a second multi-threaded BLAS pool under
# it oversubscribes the cores (measured 2x slower on 2 cores). Must be set before torch loads BLAS.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from .cli import main  # noqa: E402

raise SystemExit(main())

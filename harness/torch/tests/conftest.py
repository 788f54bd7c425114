"""Makes the test helpers importable and keeps torch to one thread (the machine is shared)."""
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
torch.set_num_threads(1)

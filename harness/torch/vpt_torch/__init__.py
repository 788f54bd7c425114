"""vpt_torch: the PyTorch training engine of vpt's trainer protocol (docs/TRAINER-PROTOCOL.md)."""

PROTOCOL = 1
ENGINE_NAME = "vpt_torch"
ENGINE_VERSION = "0.1.0"

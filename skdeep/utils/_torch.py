"""The torch backend: lazy import, device resolution and seeding.

Nothing in skdeep imports torch at module import time; estimators call
:func:`import_torch` when a torch backend is first used.
"""

import numpy as np
from sklearn.utils import check_random_state

_INSTALL_HINT = (
    "This feature needs PyTorch, an optional dependency of skdeep. Install it with "
    "`pip install 'skdeep-research[torch]'` (the distribution is skdeep-research; "
    "the import name stays skdeep)."
)


def import_torch():
    """Import and return :mod:`torch`, with an install hint if it is missing."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - exercised without torch
        raise ImportError(_INSTALL_HINT) from exc
    return torch


def resolve_device(device="auto"):
    """Turn ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a device into a device.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise. Asking for
    CUDA on a machine without it raises a :class:`ValueError` rather than failing
    later inside torch.
    """
    torch = import_torch()
    if isinstance(device, torch.device):
        device_obj = device
    elif isinstance(device, str):
        if device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        try:
            device_obj = torch.device(device)
        except RuntimeError as exc:
            raise ValueError(
                f"device must be 'auto', 'cpu', 'cuda' or 'cuda:<index>', got "
                f"{device!r}."
            ) from exc
    else:
        raise TypeError(
            f"device must be a string or a torch.device, got {type(device).__name__}."
        )
    if device_obj.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} was requested but CUDA is not available; use "
                "device='cpu' or 'auto'."
            )
        n_cuda = torch.cuda.device_count()
        if device_obj.index is not None and device_obj.index >= n_cuda:
            raise ValueError(
                f"device={device!r} was requested but only "
                f"{n_cuda} CUDA device(s) are visible."
            )
    elif device_obj.type != "cpu":
        raise ValueError(f"device type {device_obj.type!r} is not supported.")
    return device_obj


def torch_generator(random_state, device="cpu"):
    """A :class:`torch.Generator` seeded from an sklearn ``random_state``.

    The seed is drawn from :func:`sklearn.utils.check_random_state`, so the same
    ``random_state`` gives the same torch draws, and a ``RandomState`` instance
    advances as usual.
    """
    torch = import_torch()
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    generator = torch.Generator(device=device)
    generator.manual_seed(seed)
    return generator


def to_numpy(tensor):
    """Detach a tensor and return it as a numpy array on the CPU."""
    return tensor.detach().cpu().numpy()

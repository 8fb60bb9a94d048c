"""``build_model``: a TRM or an HRM from a config or a preset name."""
from __future__ import annotations

from .config import ModelConfig, preset
from .hrm import HRM
from .recursive import RecursiveReasoner
from .trm import TRM


def build_model(config: ModelConfig | str, **overrides) -> RecursiveReasoner:
    """A TRM or HRM from a :class:`ModelConfig` or a preset name (with field overrides).

    >>> build_model("trm-mlp-tiny", vocab_size=8, seq_len=36).num_parameters()
    95618
    """
    if isinstance(config, str):
        config = preset(config, **overrides)
    elif overrides:
        config = config.replace(**overrides)
    return (TRM if config.arch == "trm" else HRM)(config)

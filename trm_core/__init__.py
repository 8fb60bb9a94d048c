"""trm_core: Tiny Recursive Models (TRM) and the Hierarchical Reasoning Model (HRM), readable and faithful."""
from .config import PRESETS, PRESET_NOTES, ModelConfig, preset
from .devices import autocast_context, pick_device, seed_everything
from .hrm import HRM
from .recursive import RecursiveReasoner, State, Trace
from .trm import TRM

__version__ = "0.1.0"


def build_model(config: ModelConfig | str, **overrides) -> RecursiveReasoner:
    """A TRM or HRM from a :class:`ModelConfig` or a preset name (with field overrides)."""
    if isinstance(config, str):
        config = preset(config, **overrides)
    elif overrides:
        config = config.replace(**overrides)
    return (TRM if config.arch == "trm" else HRM)(config)


__all__ = [
    "HRM", "TRM", "ModelConfig", "PRESETS", "PRESET_NOTES", "RecursiveReasoner", "State", "Trace",
    "autocast_context", "build_model", "pick_device", "preset", "seed_everything",
]

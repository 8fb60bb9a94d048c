"""trm_core: Tiny Recursive Models (TRM) and the Hierarchical Reasoning Model (HRM), readable and faithful."""
from .config import PRESET_NOTES, PRESETS, ModelConfig, preset
from .devices import autocast_context, pick_device, seed_everything
from .hrm import HRM
from .models import build_model
from .recursive import RecursiveReasoner, State, Trace, recursion_settings
from .trm import TRM

__version__ = "0.1.0"
#: The workbook's repository (as in pyproject.toml); ``$TRM_WORKBOOK_URL`` overrides it for a fork.
REPO_URL = "https://github.com/trm-workbook/trm-workbook"


__all__ = [
    "HRM", "TRM", "ModelConfig", "PRESETS", "PRESET_NOTES", "RecursiveReasoner", "State", "Trace",
    "autocast_context", "build_model", "pick_device", "preset", "recursion_settings", "seed_everything",
]

"""Personal data: masking before anything is stored in the audit log (and, later, sent to an LLM)."""

from copilot.privacy.masking import mask_pii, mask_with_map, restore

__all__ = ["mask_pii", "mask_with_map", "restore"]

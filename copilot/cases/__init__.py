"""The copilot's use cases, each over the parts it needs; `Copilot` (service.py) is their façade."""

"""Offline evaluation runs: replay sample complaints through the Copilot service and measure them."""

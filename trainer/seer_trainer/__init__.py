"""SEER trainer: builds a small decoder LLM, fine-tunes it with the SEER objective and exports a SEER bundle."""
__version__ = "0.1.0"

"""mmrender family plugin for Qwen3-VL."""

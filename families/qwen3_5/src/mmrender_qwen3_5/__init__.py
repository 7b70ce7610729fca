"""mmrender family plugin for Qwen3.5 (model types ``qwen3_5`` and ``qwen3_5_moe``)."""

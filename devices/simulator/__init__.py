"""The thermal simulator: plant models, simulated board firmware, and the `--pty`/`--tcp` board."""

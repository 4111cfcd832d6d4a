"""Model zoo: architectures written as pycore graphs, filled from published checkpoints at build time."""

"""Dataset readers, the synthetic generator, label validation, the manifest and sequence stores."""

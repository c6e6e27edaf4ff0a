"""One registry that loads vision, audio, text and ASR models by hub name or local path."""

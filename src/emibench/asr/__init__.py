"""Transcription backends (Whisper, PocketSphinx) behind one interface."""

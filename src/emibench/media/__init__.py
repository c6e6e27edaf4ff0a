"""Media decoding: frames at a fixed rate with optional face crops, and 16 kHz mono audio."""

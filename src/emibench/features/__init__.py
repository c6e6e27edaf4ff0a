"""Feature extraction into sequence stores: official baseline features and Stage I features."""

"""Stage I: vision-text and audio-text contrastive alignment (paper eq. 1, section 4.3)."""

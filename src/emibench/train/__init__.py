"""One trainer for every Stage II system: data loading, training loop, EMA, early stopping."""

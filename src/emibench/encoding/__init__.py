"""Encoding media and text with the registry's encoders: what Stage I and the feature stores share."""

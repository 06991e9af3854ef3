"""Configuration, errors, logging, usage accounting. Imports nothing else of Junior AI's."""

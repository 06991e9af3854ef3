"""Configuration, errors, logging, usage accounting and pricing. Imports nothing else of Junior AI's."""

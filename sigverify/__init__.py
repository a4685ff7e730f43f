"""sigverify: offline handwritten-signature verification for banks."""

__version__ = "0.1.0"

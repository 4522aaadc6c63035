"""reconciler: users as code for Sprig and Usertour."""

__version__ = "0.1.0"

"""Import: live users read back into declaration YAML."""

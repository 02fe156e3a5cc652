"""pytest-xetrack: the plugin entry point (the plugin itself lands with its issue)."""

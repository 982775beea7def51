"""ganlab's first-party plugins, found through the `ganlab` entry-point group like anyone else's."""

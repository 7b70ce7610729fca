"""Storage backends for mmrender, each registered through the ``mmrender`` entry-point group."""

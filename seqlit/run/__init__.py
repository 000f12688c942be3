"""One run's life on disk and in the process: its folder claimed, its settings saved, its signals, its resume."""

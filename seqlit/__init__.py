"""seqlit: recurrent sequence models (RNN, GRU, LSTM) as a config-driven Lightning pipeline."""

__version__ = "0.1.0"

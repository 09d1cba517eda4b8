"""Public pages: a bank applies; an invited person accepts their invitation."""

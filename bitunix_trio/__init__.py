"""bitunix-trio: a Trio-native client for the BitUnix futures exchange."""

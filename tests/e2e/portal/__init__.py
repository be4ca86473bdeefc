"""Portal tests in a real headless Chromium."""

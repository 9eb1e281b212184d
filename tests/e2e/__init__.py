"""End-to-end tests in a real browser: Debian chromium, driven by Playwright."""

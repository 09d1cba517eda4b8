"""The second factor: TOTP through django-otp and hashed recovery codes, who must have one, and its pages."""

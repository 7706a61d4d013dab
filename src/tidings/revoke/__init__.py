"""Revocation: RevokePushMessage and RevokePushTask take back what was pushed."""

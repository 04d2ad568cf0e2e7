"""The Bot API stand-in lives in ops/fake_bot_api.py (the load benchmark uses it too)."""

from ops.fake_bot_api import ApiCall, ApiError, FakeBotAPI, UploadedFile

__all__ = ["ApiCall", "ApiError", "FakeBotAPI", "UploadedFile"]

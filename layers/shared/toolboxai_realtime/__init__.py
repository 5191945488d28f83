"""ToolBoxAI Realtime shared layer: identity, channel policy, event catalog, Pusher gateway, stores."""

import sys

# pusher 3.3.4 requires pyOpenSSL (its code uses it on Python 2 only), so pip puts it in the layer, and
# botocore.httpsession then imports urllib3.contrib.pyopenssl (OpenSSL, cryptography.x509: about 45 ms of
# every cold start, issue 15) only to read ``orig_util_SSLContext``, which with urllib3 2 is
# ``urllib3.util.ssl_.SSLContext`` (the stdlib's), its own fallback on ImportError. A None entry in
# sys.modules is Python's documented way to make that import fail: botocore takes the fallback, the same
# class. It works because every function imports this package before anything creates a boto3 client
# (tests/unit/test_cold_imports.py checks OpenSSL stays out).
sys.modules.setdefault("urllib3.contrib.pyopenssl", None)  # type: ignore[arg-type]

__all__: list[str] = []

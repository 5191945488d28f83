"""DynamoDB access: one small interface per store, built on the cached client of ``toolboxai_realtime.aws``.

Nothing above these modules touches boto3.
"""

"""The local stack (never deployed): the routes of template.yaml served in-process on :8008, moto's
DynamoDB server with the template's tables, and soketi as the local Pusher."""

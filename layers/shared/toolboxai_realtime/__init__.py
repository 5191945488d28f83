"""ToolBoxAI Realtime shared layer: identity, channel policy, event catalog, Pusher gateway, stores."""

__all__: list[str] = []

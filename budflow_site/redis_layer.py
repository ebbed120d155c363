"""channels-redis, with a connection pool that waits instead of failing under a burst.

redis-py's asyncio ``ConnectionPool`` raises ``MaxConnectionsError`` once ``max_connections``
(100 by default) commands are in flight, and channels-redis opens one per concurrent
``group_add`` / ``group_discard`` / ``group_send``: measured, a few hundred websocket clients
subscribing at once on one daphne crashed their consumers with "Too many connections". A
``BlockingConnectionPool`` queues those commands for a free connection instead (up to
``timeout`` seconds), keeping the number of Redis connections per process bounded.
"""

from __future__ import annotations

from typing import Any

from channels_redis.core import RedisChannelLayer as BaseRedisChannelLayer
from redis import asyncio as aioredis


class RedisChannelLayer(BaseRedisChannelLayer):  # type: ignore[misc]
    """``channels_redis.core.RedisChannelLayer`` on a blocking connection pool per host."""

    def create_pool(self, index: int) -> Any:
        host = dict(self.hosts[index])
        if "address" not in host:  # sentinel or keyword hosts: channels-redis' own pools
            return super().create_pool(index)
        return aioredis.BlockingConnectionPool.from_url(host.pop("address"), **host)

"""Realtime: the WebSocket API's handlers, its channels, and the stream publisher.

- `connections`: the store of connections and subscriptions (TTL'd table `connections`);
- `feeds`: the store of the publisher's per-market state (sequence numbers, the book as published);
- `channels`: the protocol: parsing client messages, topics, message shapes;
- `handlers`: `$connect` / message / `$disconnect` logic;
- `publisher`: the orders- and matches-stream handler that fans changes out;
- `gateway`: `post_to_connection` (API Gateway's Management API, or the local server's).
"""

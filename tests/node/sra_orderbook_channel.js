// The published @0xproject/connect client (SRA v0) subscribed to one token pair over the
// WebSocket API: prints one JSON line per event on stdout for the Python test to read.
//   node tests/node/sra_orderbook_channel.js ws://127.0.0.1:8001 <baseTokenAddress> <quoteTokenAddress>
'use strict';
const { WebSocketOrderbookChannel } = require('@0xproject/connect');

const [url, baseTokenAddress, quoteTokenAddress] = process.argv.slice(2);
const channel = new WebSocketOrderbookChannel(url, { heartbeatIntervalMs: 5000 });
const print = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const orderJson = (order) => JSON.parse(JSON.stringify(order)); // BigNumbers as strings

channel.subscribe({ baseTokenAddress, quoteTokenAddress, snapshot: true, limit: 100 }, {
  onSnapshot: (_channel, _opts, snapshot) =>
    print({ event: 'snapshot', bids: snapshot.bids.map(orderJson), asks: snapshot.asks.map(orderJson) }),
  onUpdate: (_channel, _opts, order) => print({ event: 'update', order: orderJson(order) }),
  onError: (_channel, _opts, error) => print({ event: 'error', message: String(error && error.message || error) }),
  onClose: () => { print({ event: 'close' }); process.exit(0); },
});
process.stdin.on('end', () => { channel.close(); process.exit(0); });
process.stdin.resume();

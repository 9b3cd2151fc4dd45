// The published SRA v0 client (@0xproject/connect 0.6.17) against a relayer: its six HTTP
// calls, in the order a trading UI makes them. argv: base URL (…/v0), a JSON file with
// {"order": <signed 0x v1 order>, "hash": "0x…", "base": "0x…", "quote": "0x…"}.
// Prints one JSON line: {"<call>": {"ok": true, "result": …} | {"ok": false, "error": "…"}}.
const fs = require("node:fs");
const { HttpClient } = require("sra-connect-0.6.17");
const { BigNumber } = require("@0xproject/utils");

const [url, file] = [process.argv[2], process.argv[3]];
const input = JSON.parse(fs.readFileSync(file, "utf8"));
const client = new HttpClient(url);

function signedOrder(order) {
  const out = { ...order, ecSignature: order.ecSignature };
  for (const key of ["makerTokenAmount", "takerTokenAmount", "makerFee", "takerFee",
                     "expirationUnixTimestampSec", "salt"]) out[key] = new BigNumber(order[key]);
  return out;
}

(async () => {
  const results = {};
  const calls = [
    ["submitOrderAsync", () => client.submitOrderAsync(signedOrder(input.order))],
    ["getTokenPairsAsync", () => client.getTokenPairsAsync()],
    ["getOrdersAsync", () => client.getOrdersAsync({ maker: input.order.maker })],
    ["getOrderAsync", () => client.getOrderAsync(input.hash)],
    ["getOrderbookAsync", () => client.getOrderbookAsync({ baseTokenAddress: input.base,
                                                            quoteTokenAddress: input.quote })],
    ["getFeesAsync", () => client.getFeesAsync(signedOrder({ ...input.order, ecSignature: undefined }))],
  ];
  for (const [name, call] of calls) {
    try {
      results[name] = { ok: true, result: JSON.parse(JSON.stringify((await call()) ?? null)) };
    } catch (error) {
      results[name] = { ok: false, error: String(error && error.stack || error) };
    }
  }
  console.log(JSON.stringify(results));
})();

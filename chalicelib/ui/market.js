// Lambdex live market page: the book, depth chart, trades and 24 h figures of one market,
// live over the WebSocket API (channels book, trades, ticker: docs/realtime.md), polling
// GET ../data/<market> while the socket is down. No framework, no build step.
'use strict';
(function () {
  const root = document.getElementById('market');
  const config = JSON.parse(root.dataset.config);
  const params = new URLSearchParams(location.search);
  const POLL_MS = 2000;
  const state = { book: { seq: -1, bids: new Map(), asks: new Map() }, trades: { seq: -1, rows: [] },
                  ticker: null, transport: 'connecting', socket: null, pending: {}, lastTradeIds: new Set() };
  const $ = (id) => document.getElementById(id);
  const REQUEST = { book: 'book', trades: 'trades', ticker: 'ticker' };

  // -- state --------------------------------------------------------------------------------
  function setBook(snapshot) {
    state.book = { seq: snapshot.seq, bids: new Map(snapshot.bids), asks: new Map(snapshot.asks) };
  }
  function applyDelta(delta) {
    for (const side of ['bids', 'asks']) {
      for (const [price, amount] of delta[side]) {
        if (amount === '0') state.book[side].delete(price); else state.book[side].set(price, amount);
      }
    }
    state.book.seq = delta.seq;
  }
  function setTrades(snapshot) {
    state.trades = { seq: snapshot.seq, rows: snapshot.trades.slice(0, 50) };
  }
  function addTrade(trade) {
    state.trades.seq = trade.seq;
    // The snapshot's list comes from an index read just after its seq: a trade committed in
    // between can be in both. Its id says so.
    if (state.trades.rows.some((row) => row.id === trade.id)) return;
    state.trades.rows.unshift(trade);
    state.trades.rows.length = Math.min(state.trades.rows.length, 50);
  }

  // -- the socket ---------------------------------------------------------------------------
  let backoff = 1000, pollTimer = null;
  function subscribe(channel) {
    state.pending[channel] = [];  // updates that come before the snapshot wait here
    state.socket.send(JSON.stringify({ type: 'subscribe', channel, requestId: REQUEST[channel],
                                       payload: { market: config.market } }));
  }
  function onMessage(event) {
    const message = JSON.parse(event.data);
    const channel = message.channel;
    if (message.type === 'error') { console.warn('lambdex:', message.payload); return; }
    if (message.type === 'snapshot') {
      if (channel === 'book') setBook(message.payload);
      else if (channel === 'trades') setTrades(message.payload);
      else if (channel === 'ticker') state.ticker = message.payload;
      const waiting = state.pending[channel] || [];
      delete state.pending[channel];
      waiting.forEach(onUpdate);
      render();
      return;
    }
    if (message.type !== 'update') return;
    if (state.pending[channel]) { state.pending[channel].push(message); return; }
    onUpdate(message);
  }
  function onUpdate(message) {
    const { channel, payload } = message;
    if (channel === 'book') {
      if (payload.seq <= state.book.seq) return;  // already in the snapshot
      if (payload.seq !== state.book.seq + 1) { subscribe('book'); return; }  // a gap: start over
      applyDelta(payload);
    } else if (channel === 'trades') {
      if (payload.seq <= state.trades.seq) return;
      if (payload.seq !== state.trades.seq + 1) { subscribe('trades'); return; }
      addTrade(payload);
    } else if (channel === 'ticker') {
      state.ticker = payload;
    }
    render();
  }
  function connect() {
    if (!config.ws || params.get('transport') === 'polling') { startPolling(); return; }
    let socket;
    try { socket = new WebSocket(config.ws); } catch (error) { startPolling(); return; }
    state.socket = socket;
    socket.onopen = () => {
      backoff = 1000;
      stopPolling();
      setTransport('live');
      ['book', 'trades', 'ticker'].forEach(subscribe);
    };
    socket.onmessage = onMessage;
    socket.onclose = () => {
      state.socket = null;
      startPolling();
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  // -- polling (the fallback) ------------------------------------------------------------
  async function poll() {
    try {
      const response = await fetch('../data/' + encodeURIComponent(config.market), { cache: 'no-store' });
      if (!response.ok) return;
      const data = await response.json();
      setBook(data.book); setTrades(data.trades); state.ticker = data.ticker;
      render();
    } catch (error) { /* offline: try again at the next tick */ }
  }
  function startPolling() {
    setTransport('polling');
    if (pollTimer === null) { poll(); pollTimer = setInterval(poll, POLL_MS); }
  }
  function stopPolling() {
    if (pollTimer !== null) { clearInterval(pollTimer); pollTimer = null; }
  }
  function setTransport(name) {
    state.transport = name;
    const status = $('status');
    status.dataset.state = name;
    status.querySelector('span').textContent = name === 'live' ? 'live' : name === 'polling' ? 'polling' : name;
  }

  // -- rendering --------------------------------------------------------------------------
  const num = (text) => Number(text);
  function fmt(text, digits) {
    if (text === null || text === undefined) return '–';
    const value = num(text);
    if (!isFinite(value)) return text;
    return value.toLocaleString('en-US', { maximumFractionDigits: digits === undefined ? 8 : digits });
  }
  function sortedLevels(side) {
    const rows = [...state.book[side].entries()].map(([p, a]) => [p, a, num(p), num(a)]);
    rows.sort((x, y) => side === 'bids' ? y[2] - x[2] : x[2] - y[2]);
    return rows;
  }
  function levelRows(container, rows, max, side) {
    let total = 0;
    const html = rows.map(([price, amount, , size]) => {
      total += size;
      const width = max ? Math.min(100, (total / max) * 100) : 0;
      return `<div data-price="${price}" data-amount="${amount}"><b style="width:${width.toFixed(1)}%"></b>` +
             `<span>${fmt(price)}</span><span>${fmt(amount)}</span><span>${fmt(String(total), 4)}</span></div>`;
    });
    if (side === 'asks') html.reverse();
    container.innerHTML = html.join('') || '<div class="muted"><span>no orders</span></div>';
  }
  function render() {
    const bids = sortedLevels('bids').slice(0, 15), asks = sortedLevels('asks').slice(0, 15);
    const sum = (rows) => rows.reduce((acc, row) => acc + row[3], 0);
    const max = Math.max(sum(bids), sum(asks));
    levelRows($('asks'), asks, max, 'asks');
    levelRows($('bids'), bids, max, 'bids');
    $('spread').textContent = bids.length && asks.length
      ? `spread ${fmt(String(asks[0][2] - bids[0][2]))}` : 'no spread';
    $('book-seq').textContent = state.book.seq >= 0 ? `#${state.book.seq}` : '';
    const seen = state.lastTradeIds;
    $('trades').innerHTML = state.trades.rows.map((t) => {
      const time = new Date(t.time).toLocaleTimeString('en-GB');
      return `<div class="${seen.has(t.id) ? '' : 'new'}" data-id="${t.id}"><span class="${t.side === 'buy' ? 'bid' : 'ask'}">` +
             `${fmt(t.price)}</span><span>${fmt(t.amount)}</span><span class="muted">${time}</span></div>`;
    }).join('') || '<div class="muted"><span>no trades yet</span></div>';
    state.lastTradeIds = new Set(state.trades.rows.map((t) => t.id));
    const ticker = state.ticker;
    if (ticker) {
      const last = $('last-price');
      last.textContent = fmt(ticker.last);
      const change = ticker.change24hPercent;
      last.className = 'big ' + (change === null ? '' : change.startsWith('-') ? 'down' : 'up');
      $('change').textContent = change === null ? '' : `${change.startsWith('-') ? '' : '+'}${change} % 24 h`;
      $('high').textContent = fmt(ticker.high24h);
      $('low').textContent = fmt(ticker.low24h);
      $('volume').textContent = fmt(ticker.volume24h);
      $('trade-count').textContent = String(ticker.trades24h);
    }
    drawDepth(sortedLevels('bids'), sortedLevels('asks'));
  }

  function drawDepth(bids, asks) {
    const canvas = $('depth-chart');
    const ratio = window.devicePixelRatio || 1;
    const width = canvas.clientWidth || 900, height = canvas.clientHeight || 300;
    canvas.width = width * ratio; canvas.height = height * ratio;
    const ctx = canvas.getContext('2d');
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    const pad = { left: 56, right: 36, top: 12, bottom: 28 };
    const styles = getComputedStyle(document.documentElement);
    const colors = { bid: styles.getPropertyValue('--bid').trim(), ask: styles.getPropertyValue('--ask').trim(),
                     line: styles.getPropertyValue('--line').trim(), muted: styles.getPropertyValue('--muted').trim() };
    const cumulative = (rows) => { let t = 0; return rows.map((r) => [r[2], (t += r[3])]); };
    const b = cumulative(bids), a = cumulative(asks);
    if (!b.length && !a.length) {
      ctx.fillStyle = colors.muted; ctx.font = '13px system-ui'; ctx.textAlign = 'center';
      ctx.fillText('The book is empty', width / 2, height / 2);
      return;
    }
    const prices = [...b, ...a].map((p) => p[0]);
    let low = Math.min(...prices), high = Math.max(...prices);
    const mid = b.length && a.length ? (b[0][0] + a[0][0]) / 2 : (low + high) / 2;
    const half = Math.max(mid - low, high - mid, mid * 0.01) * 1.08;
    low = mid - half; high = mid + half;
    const top = Math.max(b.length ? b[b.length - 1][1] : 0, a.length ? a[a.length - 1][1] : 0) * 1.1;
    const x = (price) => pad.left + ((price - low) / (high - low)) * (width - pad.left - pad.right);
    const y = (amount) => height - pad.bottom - (amount / top) * (height - pad.top - pad.bottom);
    ctx.strokeStyle = colors.line; ctx.lineWidth = 1; ctx.fillStyle = colors.muted; ctx.font = '11px system-ui';
    for (let i = 0; i <= 4; i++) {
      const amount = (top / 4) * i, yy = y(amount);
      ctx.beginPath(); ctx.moveTo(pad.left, yy); ctx.lineTo(width - pad.right, yy); ctx.stroke();
      ctx.textAlign = 'right'; ctx.fillText(fmt(String(amount), 2), pad.left - 6, yy + 4);
    }
    ctx.textAlign = 'center';
    for (let i = 0; i <= 4; i++) {
      const price = low + ((high - low) / 4) * i;
      ctx.fillText(fmt(String(price), 6), x(price), height - 8);
    }
    function area(points, color, leftwards) {
      if (!points.length) return;
      ctx.beginPath();
      ctx.moveTo(x(points[0][0]), y(0));
      let previous = 0;
      for (const [price, total] of points) {
        ctx.lineTo(x(price), y(previous));
        ctx.lineTo(x(price), y(total));
        previous = total;
      }
      const edge = leftwards ? low : high;
      ctx.lineTo(x(edge), y(previous));
      ctx.lineTo(x(edge), y(0));
      ctx.closePath();
      ctx.globalAlpha = 0.22; ctx.fillStyle = color; ctx.fill();
      ctx.globalAlpha = 1; ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.stroke();
    }
    area(b, colors.bid, true);
    area(a, colors.ask, false);
    ctx.strokeStyle = colors.muted; ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(x(mid), pad.top); ctx.lineTo(x(mid), height - pad.bottom); ctx.stroke();
    ctx.setLineDash([]);
  }

  window.addEventListener('resize', render);
  window.lambdexMarket = { state, config };
  poll().then(connect);
})();

// The live execution page: draws the progress snapshot, then follows the progress websocket.
//
// Events are applied strictly in sequence order: anything at or below the last applied sequence
// (the snapshot's ``last_sequence`` at first) is already reflected and is not applied again;
// anything beyond the next one waits until the gap is filled. On its first connection the page
// asks for the last HISTORY events ({"type": "resume", "after": N}) to fill the event log; after
// a reconnection it asks for what it missed, when the server's snapshot is ahead of it.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("live-config").textContent);
  const TERMINAL = new Set(["success", "error", "canceled", "crashed"]);
  const DONE_NODE = new Set(["success", "error", "canceled"]);
  const CLOSE_REFUSED = new Set([4403, 4404]);
  const HISTORY = 500; // events of the past shown in the log when the page opens

  const el = (id) => document.getElementById(id);
  const rows = new Map();
  document.querySelectorAll("#nodes tbody tr").forEach((tr) => rows.set(tr.dataset.node, tr));

  const state = {
    lastSequence: 0,
    status: document.body.dataset.status,
    pending: new Map(), // sequence → event that arrived ahead of a gap
    logged: new Set(), // sequences in the event log
    connected: false, // connected at least once
    socket: null,
    retries: 0,
    stopped: false, // finished or refused: no reconnecting
    gapTimer: null,
    pause: config.pause,
  };

  // -- formatting --------------------------------------------------------------------------
  function clock(iso) {
    if (!iso) return "–";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "–";
    return d.toLocaleTimeString([], { hour12: false }) + "." + String(d.getMilliseconds()).padStart(3, "0");
  }

  function duration(ms) {
    if (ms === null || ms === undefined) return "–";
    return ms < 1000 ? ms.toFixed(1) + " ms" : (ms / 1000).toFixed(2) + " s";
  }

  function itemCounts(items) {
    if (!Array.isArray(items) || items.length === 0) return "–";
    const total = items.reduce((a, b) => a + b, 0);
    return items.length > 1 ? total + " (" + items.join(" / ") + ")" : String(total);
  }

  // -- nodes -------------------------------------------------------------------------------
  function rowFor(name) {
    let tr = rows.get(name);
    if (!tr) {
      // A node the page was not rendered with (should not happen): append a row for it.
      tr = document.createElement("tr");
      tr.dataset.node = name;
      for (const cls of ["name", "type", "", "started num", "duration num", "items-in num", "items-out num"]) {
        const td = document.createElement("td");
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      tr.cells[0].textContent = name;
      tr.cells[2].appendChild(document.createElement("span"));
      document.querySelector("#nodes tbody").appendChild(tr);
      rows.set(name, tr);
    }
    return tr;
  }

  function setBadge(span, status) {
    span.textContent = status;
    span.className = "status status-" + status;
  }

  // ``info`` holds what is known: status, start_time, execution_time_ms, and the item counts
  // either as sizes (snapshot: input_size, output_size) or per output (events: items).
  function applyNode(name, info) {
    const tr = rowFor(name);
    tr.dataset.status = info.status;
    setBadge(tr.querySelector("span.status"), info.status);
    if ("start_time" in info) tr.querySelector(".started").textContent = clock(info.start_time);
    if ("execution_time_ms" in info) tr.querySelector(".duration").textContent = duration(info.execution_time_ms);
    if ("input_size" in info) tr.querySelector(".items-in").textContent = String(info.input_size);
    if ("output_size" in info) tr.querySelector(".items-out").textContent = String(info.output_size);
    if ("items" in info) tr.querySelector(".items-out").textContent = itemCounts(info.items);
    const nameCell = tr.querySelector(".name");
    let err = nameCell.querySelector(".node-error");
    if (info.error) {
      if (!err) {
        err = document.createElement("div");
        err.className = "node-error";
        nameCell.appendChild(err);
      }
      err.textContent = info.error.message || String(info.error);
    } else if (err && info.status !== "error") {
      err.remove();
    }
    updateProgress();
  }

  function updateProgress() {
    let done = 0;
    rows.forEach((tr) => {
      if (DONE_NODE.has(tr.dataset.status)) done += 1;
    });
    const total = rows.size;
    const percent = state.status === "success" ? 100 : total ? Math.round((done / total) * 1000) / 10 : 0;
    el("progress-text").textContent = done + " / " + total + " nodes";
    el("progress-bar").value = percent;
  }

  // -- execution ---------------------------------------------------------------------------
  function setStatus(status) {
    if (!status) return;
    state.status = status;
    document.body.dataset.status = status;
    setBadge(el("execution-status"), status);
    if (status !== "waiting") hidePause();
    updateProgress();
  }

  function showPause(pause) {
    if (!pause) return;
    // The message is known for the wait the page was rendered with; live waits name their node.
    const known = state.pause && state.pause.node === pause.node ? state.pause : {};
    state.pause = Object.assign({}, known, pause);
    if (pause.type === "approval") {
      el("approval-node").textContent = pause.node || "";
      el("approval-message").textContent = state.pause.message || "";
      el("approval-controls").hidden = state.pause.can_decide === false;
      el("approval-result").textContent =
        state.pause.can_decide === false ? "You may watch this approval but not decide it." : "";
      setDeciding(false);
      el("approval").hidden = false;
      el("waiting-note").hidden = true;
    } else {
      el("waiting-note").textContent = "Waiting at " + (pause.node || "?") + " (" + pause.type + " wait).";
      el("waiting-note").hidden = false;
      el("approval").hidden = true;
    }
  }

  function hidePause() {
    el("approval").hidden = true;
    el("waiting-note").hidden = true;
  }

  function notice(text) {
    el("notice").textContent = text;
    el("notice").hidden = !text;
  }

  function applySnapshot(snapshot) {
    Object.entries(snapshot.node_progress || {}).forEach(([name, info]) => applyNode(name, info));
    setStatus(snapshot.status);
  }

  // -- events ------------------------------------------------------------------------------
  function describe(event) {
    const d = event.data || {};
    const parts = [];
    if (d.node_name) parts.push(d.node_name);
    if (d.status) parts.push(d.status);
    if (Array.isArray(d.items) && d.items.length) parts.push(itemCounts(d.items) + " items");
    if (typeof d.execution_time_ms === "number") parts.push(duration(d.execution_time_ms));
    if (d.pause && d.pause.node) parts.push(d.pause.type + " wait at " + d.pause.node);
    if (d.decision && d.by) parts.push(d.decision + " by " + d.by);
    const error = d.error && (d.error.message || d.error);
    if (error) parts.push("error: " + error);
    return parts.join(" · ");
  }

  function logEvent(event) {
    if (state.logged.has(event.sequence)) return;
    state.logged.add(event.sequence);
    const li = document.createElement("li");
    li.value = event.sequence;
    li.dataset.sequence = String(event.sequence);
    li.dataset.type = event.type;
    for (const [cls, text] of [
      ["time", clock(event.timestamp) + " "],
      ["type", event.type],
      ["detail", " " + describe(event)],
    ]) {
      const span = document.createElement("span");
      span.className = cls;
      span.textContent = text;
      li.appendChild(span);
    }
    const log = el("event-log");
    const follow = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    // History can arrive after the first live events: keep the log in sequence order.
    let after = log.lastElementChild;
    while (after && Number(after.dataset.sequence) > event.sequence) after = after.previousElementSibling;
    log.insertBefore(li, after ? after.nextSibling : log.firstChild);
    if (follow) log.scrollTop = log.scrollHeight;
  }

  function applyEvent(event) {
    const d = event.data || {};
    switch (event.type) {
      case "node_started":
        applyNode(d.node_name, { status: "running", start_time: d.start_time, execution_time_ms: null });
        break;
      case "node_finished":
      case "node_error": {
        const info = { status: d.status, execution_time_ms: d.execution_time_ms, items: d.items, error: d.error };
        if (d.start_time) info.start_time = d.start_time;
        applyNode(d.node_name, info);
        break;
      }
      case "execution_waiting":
        setStatus(d.status || "waiting");
        showPause(d.pause);
        if (d.pause && d.pause.type === "approval") refreshPause(d.pause);
        refreshSnapshot();
        break;
      case "execution_finished":
        setStatus(d.status);
        if (d.error && d.error.message) notice("The execution ended " + d.status + ": " + d.error.message);
        refreshSnapshot();
        finish();
        break;
      default: // execution_started, execution_resumed, execution_recovered
        setStatus(d.status);
    }
  }

  function receive(event) {
    if (event.sequence <= state.lastSequence) {
      // Already reflected (history before the snapshot, or a repeat): the log only.
      logEvent(event);
      if (TERMINAL.has(state.status) && event.sequence === state.lastSequence) finish();
      return;
    }
    state.pending.set(event.sequence, event);
    while (state.pending.has(state.lastSequence + 1)) {
      const next = state.pending.get(state.lastSequence + 1);
      state.pending.delete(next.sequence);
      state.lastSequence = next.sequence;
      applyEvent(next);
      logEvent(next);
    }
    if (state.pending.size && !state.gapTimer) {
      // The server fills gaps itself; if one stays open, ask for the replay.
      state.gapTimer = setTimeout(() => {
        state.gapTimer = null;
        if (state.pending.size) send({ type: "resume", after: state.lastSequence });
      }, 1000);
    }
  }

  // The snapshot carries what events do not (items received per node): re-read it when the
  // run pauses or ends. It is applied only if it is not behind the events already shown.
  async function refreshSnapshot() {
    try {
      const snapshot = await fetchSnapshot();
      if (snapshot.last_sequence >= state.lastSequence) applySnapshot(snapshot);
    } catch (err) {
      // Cosmetic only: the events already drew the run.
    }
  }

  // The event names the wait; its message comes with the execution's detail.
  async function refreshPause(pause) {
    try {
      const response = await fetch(config.detail_url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      const body = await response.json();
      if (body.status !== "waiting" || !body.pause || body.pause.node !== pause.node) return;
      if (state.status === "waiting" && state.pause && state.pause.node === pause.node) {
        state.pause.message = body.pause.message || "";
        el("approval-message").textContent = state.pause.message;
      }
    } catch (err) {
      // The buttons work without the message.
    }
  }

  async function fetchSnapshot() {
    const response = await fetch(config.progress_url, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (!response.ok) throw new Error("progress: HTTP " + response.status);
    return response.json();
  }

  // -- websocket ---------------------------------------------------------------------------
  function connection(text, stateName) {
    const span = el("connection");
    span.textContent = text;
    span.dataset.state = stateName;
  }

  function send(message) {
    if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
  }

  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + location.host + config.ws_path);
    state.socket = socket;
    socket.onopen = () => {
      state.retries = 0;
      connection("live", "live");
    };
    socket.onmessage = (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "snapshot") {
        if (!state.connected) {
          state.connected = true;
          send({ type: "resume", after: Math.max(0, state.lastSequence - HISTORY) });
        } else if (data.sequence > state.lastSequence) {
          send({ type: "resume", after: state.lastSequence });
        }
      } else if (data.type === "error" || (data.type === "unsubscribed" && data.reason)) {
        notice(data.message || "The server stopped sending this execution's events.");
      } else if (typeof data.sequence === "number") {
        receive(data);
      }
    };
    socket.onclose = (event) => {
      if (state.socket !== socket) return;
      state.socket = null;
      if (state.stopped) return;
      if (CLOSE_REFUSED.has(event.code)) {
        state.stopped = true;
        connection("closed", "closed");
        return;
      }
      // Back off (1 s, 2 s, 4 s … 15 s); the resume after reconnecting replays what was missed.
      const delay = Math.min(15000, 1000 * 2 ** state.retries);
      state.retries += 1;
      connection("reconnecting…", "reconnecting");
      setTimeout(connect, delay);
    };
  }

  function finish() {
    // Nothing follows execution_finished: release the socket, once a replay the page asked
    // for (history can be answered after live events) has had time to arrive.
    if (state.stopped) return;
    state.stopped = true;
    connection("finished", "finished");
    const socket = state.socket;
    if (socket) setTimeout(() => socket.close(1000), 2000);
  }

  // -- approvals ---------------------------------------------------------------------------
  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setDeciding(busy) {
    el("approve").disabled = busy;
    el("reject").disabled = busy;
  }

  async function decide(decision) {
    setDeciding(true);
    el("approval-result").textContent = "Sending…";
    try {
      const response = await fetch(decision === "approve" ? config.approve_url : config.reject_url, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
        body: JSON.stringify({ comment: el("approval-comment").value }),
      });
      const body = await response.json().catch(() => ({}));
      if (response.ok) {
        el("approval-result").textContent = decision === "approve" ? "Approved." : "Rejected.";
        el("approval-controls").hidden = true;
      } else {
        el("approval-result").textContent = body.detail || "The server answered " + response.status + ".";
        setDeciding(false);
      }
    } catch (err) {
      el("approval-result").textContent = "Could not reach the server: " + err.message;
      setDeciding(false);
    }
  }

  el("approve").addEventListener("click", () => decide("approve"));
  el("reject").addEventListener("click", () => decide("reject"));

  // -- start -------------------------------------------------------------------------------
  async function start() {
    try {
      const snapshot = await fetchSnapshot();
      state.lastSequence = snapshot.last_sequence;
      applySnapshot(snapshot);
    } catch (err) {
      notice("Could not load the execution's progress: " + err.message);
      return;
    }
    if (state.status === "waiting" && state.pause) showPause(state.pause);
    // Also for a finished execution: the connection brings its event log, then closes.
    connect();
  }

  start();
})();

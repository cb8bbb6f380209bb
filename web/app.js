// Skillchain dApp: plain ES module, no build step. Talks to the API; the wallet signs everything.
const $ = (sel, root = document) => root.querySelector(sel);
const view = $("#view");
const state = { provider: null, account: null, chainId: null, token: sessionStorage.getItem("sc-token"), me: sessionStorage.getItem("sc-me") };

function say(text, isError = false) {
  const s = $("#status");
  s.textContent = text;
  s.style.background = isError ? "#fde7e7" : "#fff8d6";
}

function esc(v) {
  return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

async function api(path, { method = "GET", body, auth = true } = {}) {
  const headers = { "Content-Type": "application/json" };
  if (auth && state.token) headers.Authorization = `Bearer ${state.token}`;
  const res = await fetch(path, { method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) {
    const detail = data && data.detail;
    const words = Array.isArray(detail) ? detail.map((d) => `${d.loc.slice(1).join(".")}: ${d.msg}`).join("; ") : detail;
    throw new Error(words || `request failed (${res.status})`);
  }
  return data;
}

// ---------------------------------------------------------------- wallet (EIP-6963, then EIP-1193)
const announced = [];
window.addEventListener("eip6963:announceProvider", (e) => announced.push(e.detail));
window.dispatchEvent(new Event("eip6963:requestProvider"));

async function connect() {
  state.provider = announced[0]?.provider || window.ethereum;
  if (!state.provider) return say("No wallet found: install a browser wallet (EIP-1193 / EIP-6963).", true);
  const [account] = await state.provider.request({ method: "eth_requestAccounts" });
  state.account = account;
  state.chainId = parseInt(await state.provider.request({ method: "eth_chainId" }), 16);
  state.provider.on?.("accountsChanged", (accs) => { state.account = accs[0]; showAccount(); });
  showAccount();
}

function showAccount() {
  $("#account").textContent = state.account ? `${state.account.slice(0, 8)}…${state.account.slice(-4)} (chain ${state.chainId})` : "";
  $("#connect").textContent = state.account ? (state.me === state.account ? "Signed in" : "Sign in") : "Connect wallet";
}

async function signIn() {
  if (!state.account) await connect();
  const { nonce } = await api("/auth/nonce", { auth: false });
  const issued = new Date().toISOString();
  const message = `${location.host} wants you to sign in with your Ethereum account:\n${state.account}\n\nSign in to Skillchain\n\nURI: ${location.origin}\nVersion: 1\nChain ID: ${state.chainId}\nNonce: ${nonce}\nIssued At: ${issued}`;
  const signature = await state.provider.request({ method: "personal_sign", params: [message, state.account] });
  const session = await api("/auth/verify", { method: "POST", body: { message, signature }, auth: false });
  state.token = session.token;
  state.me = session.address;
  sessionStorage.setItem("sc-token", state.token);
  sessionStorage.setItem("sc-me", state.me);
  showAccount();
  say(`Signed in as ${session.address}`);
}

async function send(tx) {
  if (!state.account) await connect();
  say(`Confirm in your wallet: ${tx.description}`);
  const hash = await state.provider.request({
    method: "eth_sendTransaction",
    params: [{ from: state.account, to: tx.to, data: tx.data, value: tx.value, chainId: "0x" + tx.chainId.toString(16) }],
  });
  say(`Sent: ${tx.description} (${hash.slice(0, 12)}…). It appears here once indexed.`);
  return hash;
}

function guard(fn) {
  return async (event) => {
    event?.preventDefault?.();
    try { await fn(event); } catch (err) { say(err.message || String(err), true); }
  };
}

// ---------------------------------------------------------------- views
async function home() {
  view.innerHTML = `<h1>Find a mentor</h1>
    <form id="search"><label>Skill <input name="skill" placeholder="e.g. solidity"></label>
      <label>Maximum price <input name="max_price" type="number" min="0"></label>
      <label>Language <input name="language" maxlength="2" placeholder="en"></label>
      <button>Search</button></form>
    <section id="recs"></section><section id="results" aria-live="polite"></section>`;
  const search = guard(async () => {
    const f = new FormData($("#search"));
    const q = new URLSearchParams([...f].filter(([, v]) => v));
    const { data } = await api(`/listings?${q}`, { auth: false });
    if (!$("#results")) return;  // navigated away meanwhile
    $("#results").innerHTML = `<h2>Listings</h2>` + (data.map((l) => `<div class="card"><h3>${esc(l.title)}</h3>
      <p>${esc(l.description)}</p><p>${esc(l.skill)} · ${esc(l.price)} ${esc(l.currency)} · ${esc(l.owner)}
      ${l.owner_rating ? ` · ★ ${esc(l.owner_rating)}` : ""}</p>
      <a href="#/book/${l.id}/${l.owner}">Book this mentor</a></div>`).join("") || "<p>No listing matches.</p>");
  });
  $("#search").addEventListener("submit", search);
  search();
  if (state.token) {
    try {
      const recs = await api("/recommendations");
      if (!$("#recs")) return;
      $("#recs").innerHTML = `<h2>Recommended for you</h2>` + recs.map((r) => `<div class="card">Listing ${r.listing_id} by ${esc(r.owner)}<br><small>${r.reasons.map(esc).join(" · ")}</small></div>`).join("");
    } catch { /* no snapshot yet: nothing to recommend */ }
  }
}

function book(listingId, owner) {
  const due = new Date(Date.now() + 7 * 86400e3).toISOString().slice(0, 10);
  view.innerHTML = `<h1>Book ${esc(owner)}</h1><form id="book">
    <label>Title <input name="title" required value="Mentoring (listing ${esc(listingId)})"></label>
    <label>Skill <input name="skill" required value="solidity"></label>
    <label>Milestone <input name="milestone" required value="First session"></label>
    <label>Amount (wei) <input name="amount" required inputmode="numeric" value="100000000000000000"></label>
    <label>Due date <input name="due" type="date" required value="${due}"></label>
    <button>Fund with my wallet</button> <button type="button" id="card">Pay by card</button></form>`;
  const body = () => {
    const f = new FormData($("#book"));
    return { provider: owner, title: f.get("title"), skill: f.get("skill"),
      milestones: [{ title: f.get("milestone"), amount: f.get("amount"), due_date: Math.floor(new Date(f.get("due")).getTime() / 1000) + 86399 }] };
  };
  $("#book").addEventListener("submit", guard(async () => {
    const prepared = await api("/engagements/prepare", { method: "POST", body: body() });
    await send(prepared.tx);
    location.hash = "#/engagements";
  }));
  $("#card").addEventListener("click", guard(async () => {
    const b = body();
    b.milestones[0].amount = "25000000";  // 25.00 in the 6-decimal stablecoin
    const out = await api("/payments/checkout", { method: "POST", body: b });
    location.href = out.checkout_url;
  }));
}

async function engagements() {
  const here = location.hash;
  const { data } = await api("/me/engagements");
  if (location.hash !== here) return;
  view.innerHTML = `<h1>My engagements</h1>` + (data.map((e) => `<div class="card"><a href="#/engagement/${e.id}">Engagement ${e.id}</a>
    — ${esc(e.status)} · client ${esc(e.client)} · provider ${esc(e.provider)}</div>`).join("") || "<p>None yet (it appears once indexed).</p>");
}

let stream = null;
async function engagement(id) {
  const here = location.hash;
  const e = await api(`/engagements/${id}`, { auth: false });
  if (location.hash !== here) return;  // the user (or a live update) moved on meanwhile
  const me = state.me;
  const rows = e.milestones.map((m) => `<li>Milestone ${m.index}: ${esc(m.amount)} wei — <strong>${esc(m.state)}</strong>
      ${m.frozen ? " (frozen by the dispute)" : ""}
      ${me === e.provider && e.accepted && !m.frozen && m.state === "funded" ? `<button data-act="submit" data-i="${m.index}">Submit milestone ${m.index}</button>` : ""}
      ${me === e.client && e.accepted && !m.frozen && ["funded", "submitted"].includes(m.state) ? `<button data-act="approve" data-i="${m.index}">Approve milestone ${m.index}</button>` : ""}</li>`).join("");
  const pending = e.status === "requested";
  view.innerHTML = `<h1>Engagement ${e.id}</h1><p>Status: <strong id="eng-status">${esc(e.status)}</strong></p><ul>${rows}</ul>
    ${me === e.provider && pending ? `<button data-act="accept">Accept request</button> <button data-act="decline">Decline request</button>` : ""}
    ${me === e.client && pending ? `<button data-act="withdraw-request">Withdraw request</button>` : ""}
    ${[e.client, e.provider].includes(me) && e.status === "active" ? `<button data-act="dispute">Open a dispute</button>` : ""}
    ${[e.client, e.provider].includes(me) && e.status === "settled" ? `<form id="review"><label>Rating <select name="rating">${[5, 4, 3, 2, 1].map((r) => `<option>${r}</option>`).join("")}</select></label>
      <label>Comment <textarea name="comment" maxlength="5000"></textarea></label><button>Post review</button></form>` : ""}`;
  view.querySelectorAll("button[data-act]").forEach((b) => b.addEventListener("click", guard(async () => {
    const i = b.dataset.i;
    if (b.dataset.act === "submit") await send((await api(`/engagements/${id}/milestones/${i}/submit`, { method: "POST", body: { summary: "Delivered" } })).tx);
    if (b.dataset.act === "approve") await send(await api(`/engagements/${id}/milestones/${i}/approve`, { method: "POST" }));
    if (b.dataset.act === "accept") await send(await api(`/engagements/${id}/accept`, { method: "POST" }));
    if (b.dataset.act === "decline") await send(await api(`/engagements/${id}/cancel`, { method: "POST" }));
    if (b.dataset.act === "withdraw-request") await send(await api(`/engagements/${id}/withdraw-request`, { method: "POST" }));
    if (b.dataset.act === "dispute") await send((await api(`/engagements/${id}/dispute`, { method: "POST", body: { statement: "Not delivered as agreed" } })).tx);
  })));
  $("#review")?.addEventListener("submit", guard(async () => {
    const f = new FormData($("#review"));
    const out = await api("/reviews/prepare", { method: "POST", body: { engagement_id: Number(id), rating: Number(f.get("rating")), comment: f.get("comment") } });
    await send(out.tx);
    say("Review sent.");
  }));
  follow(id);
}

async function follow(id) {  // server-sent events over fetch, so the session header can be sent
  if (stream) stream.abort();
  if (!state.token) return;
  stream = new AbortController();
  try {
    const res = await fetch("/events/stream", { headers: { Authorization: `Bearer ${state.token}` }, signal: stream.signal });
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const chunk = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const data = chunk.split("\n").find((l) => l.startsWith("data: "));
        const event = data ? JSON.parse(data.slice(6)) : null;
        if (event && String(event.engagement_id) === String(id) && location.hash === `#/engagement/${id}`) {
          say(`On-chain: ${event.name} (block ${event.block})`);
          engagement(id);
          return;
        }
      }
    }
  } catch { /* stream closed */ }
}

async function credentials() {
  if (!state.me) return (view.innerHTML = "<p>Sign in to see your credentials.</p>");
  const here = location.hash;
  const user = await api(`/users/${state.me}`, { auth: false });
  const vouchers = (await api("/me/vouchers")).data;
  if (location.hash !== here) return;
  view.innerHTML = `<h1>My credentials</h1>` + user.credentials.map((c) => {
    const link = `${location.origin}/#/verify/${c.chain_id}/${c.token_id}`;
    return `<div class="card">${esc(c.skill || c.skill_id)} from ${esc(c.issuer)} ${c.revoked ? '<span class="invalid">revoked</span>' : ""}
      <br><label>Share link <input readonly value="${esc(link)}"></label></div>`;
  }).join("") + vouchers.map((v) => `<div class="card">Voucher from ${esc(v.issuer)} <button data-v="${v.id}">Redeem</button></div>`).join("");
  view.querySelectorAll("button[data-v]").forEach((b) => b.addEventListener("click", guard(async () => {
    const v = vouchers.find((x) => String(x.id) === b.dataset.v);
    await send(v.redeem_tx);
  })));
}

function issuer() {
  view.innerHTML = `<h1>Issue a credential</h1><form id="issue">
    <label>Holder address <input name="holder" required pattern="0x[0-9a-fA-F]{40}"></label>
    <label>Skill <input name="skill" required value="solidity"></label>
    <label>Name <input name="name" required value="Solidity Developer"></label>
    <label>Description <textarea name="description"></textarea></label>
    <label>Engagement id (optional) <input name="engagement_id" inputmode="numeric" value="0"></label>
    <button>Issue on-chain</button> <button type="button" id="voucher">Sign a voucher instead</button></form>
    <p id="issued"></p>`;
  const body = () => {
    const f = new FormData($("#issue"));
    return { holder: f.get("holder"), skill: f.get("skill"), name: f.get("name"), description: f.get("description") || "", engagement_id: Number(f.get("engagement_id") || 0) };
  };
  $("#issue").addEventListener("submit", guard(async () => {
    const prepared = await api("/credentials/prepare", { method: "POST", body: body() });
    await send(prepared.tx);
    $("#issued").innerHTML = `Verification link: <a id="share" href="#/verify/${prepared.tx.chainId}/${prepared.token_id}">${esc(prepared.share_url)}</a>`;
  }));
  $("#voucher").addEventListener("click", guard(async () => {
    const v = await api("/credentials/vouchers", { method: "POST", body: body() });
    const signature = await state.provider.request({ method: "eth_signTypedData_v4", params: [state.account, JSON.stringify(v.typed_data)] });
    await api(`/credentials/vouchers/${v.id}/signature`, { method: "PUT", body: { signature } });
    say("Voucher signed: the holder can redeem it from 'My credentials'.");
  }));
}

async function arbiter() {
  const here = location.hash;
  const { data } = await api("/arbiter/queue");
  if (location.hash !== here) return;
  view.innerHTML = `<h1>Disputes to resolve</h1>` + (data.map((e) => `<div class="card">Engagement ${e.id} (${esc(e.total_amount)} wei)
    <button data-e="${e.id}" data-act="evidence">Evidence</button>
    <form data-e="${e.id}"><label>Provider share (basis points) <input name="bps" type="number" min="0" max="10000" value="5000"></label><button>Resolve</button></form>
    <ul id="ev-${e.id}"></ul></div>`).join("") || "<p>No open dispute names you.</p>");
  view.querySelectorAll("button[data-act=evidence]").forEach((b) => b.addEventListener("click", guard(async () => {
    const items = (await api(`/engagements/${b.dataset.e}/evidence`)).data;
    $(`#ev-${b.dataset.e}`).innerHTML = items.map((x) => `<li>${esc(x.author)}: <a href="/ipfs/${esc(x.cid)}">${esc(x.cid)}</a></li>`).join("");
  })));
  view.querySelectorAll("form[data-e]").forEach((f) => f.addEventListener("submit", guard(async () => {
    await send(await api(`/engagements/${f.dataset.e}/resolve`, { method: "POST", body: { provider_share_bps: Number(new FormData(f).get("bps")) } }));
  })));
}

async function verify(chainId, tokenId) {
  view.innerHTML = `<h1>Verify a credential</h1><form id="lookup">
    <label>Credential (chain:token) or holder address <input name="q" required value="${chainId && tokenId ? esc(`${chainId}:${tokenId}`) : ""}"></label>
    <button>Verify</button></form><section id="verdict" aria-live="polite"></section>
    <h2>Ask the candidate to prove they hold it</h2><button type="button" id="challenge">Create a challenge</button><div id="proof"></div>`;
  const run = guard(async () => {
    const q = new FormData($("#lookup")).get("q").trim();
    const list = q.includes(":") ? [await api(`/verify/credential/${q.split(":")[0]}/${q.split(":")[1]}`, { auth: false })]
      : (await api(`/verify/holder/${q}`, { auth: false })).data;
    $("#verdict").innerHTML = list.map((v) => `<div class="card"><p class="${v.valid ? "valid" : "invalid"}" id="verdict-${esc(v.token_id)}">${v.valid ? "VALID" : "INVALID"}</p>
      ${v.reasons.length ? `<p>Why: ${v.reasons.map(esc).join(", ")}</p>` : ""}
      ${v.exists ? `<p>Holder ${esc(v.holder)} · issuer ${esc(v.issuer)} (${v.issuer_accredited ? "still accredited" : "no longer accredited"}) · skill ${esc(v.skill || v.skill_id)}</p>
      <p>Metadata <a href="/ipfs/${esc(v.metadata_cid)}">${esc(v.metadata_cid)}</a> · chain ${v.proof?.chain_id}, block ${v.proof?.block_number}, tx ${esc(v.proof?.transaction)}</p>` : ""}</div>`).join("") || "<p>No credentials.</p>";
  });
  $("#lookup").addEventListener("submit", run);
  if (chainId) run();
  $("#challenge").addEventListener("click", guard(async () => {
    const c = await api("/verify/challenge", { auth: false });
    $("#proof").innerHTML = `<p>The candidate signs:</p><pre>${esc(c.message)}</pre><button type="button" id="sign-proof">Sign with my wallet (candidate)</button>`;
    $("#sign-proof").addEventListener("click", guard(async () => {
      if (!state.account) await connect();
      const signature = await state.provider.request({ method: "personal_sign", params: [c.message, state.account] });
      const out = await api("/verify/presentation", { method: "POST", body: { address: state.account, challenge: c.challenge, signature }, auth: false });
      $("#proof").innerHTML = `<p class="valid" id="presented">${esc(out.holder)} controls this address and holds ${out.credentials.length} credential(s).</p>`;
    }));
  }));
}

// ---------------------------------------------------------------- routing
async function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  try {
    if (!parts[0]) await home();
    else if (parts[0] === "book") book(parts[1], parts[2]);
    else if (parts[0] === "engagements") await engagements();
    else if (parts[0] === "engagement") await engagement(parts[1]);
    else if (parts[0] === "credentials") await credentials();
    else if (parts[0] === "issuer") issuer();
    else if (parts[0] === "arbiter") await arbiter();
    else if (parts[0] === "verify") await verify(parts[1], parts[2]);
    else view.innerHTML = "<p>Page not found.</p>";
  } catch (err) {
    view.innerHTML = `<p class="invalid">${esc(err.message)}</p>`;
  }
  view.focus();
}

// Reconnect silently after a reload (eth_accounts never prompts).
(async () => {
  const provider = announced[0]?.provider || window.ethereum;
  if (!provider) return;
  const accounts = await provider.request({ method: "eth_accounts" }).catch(() => []);
  if (accounts.length) {
    state.provider = provider;
    state.account = accounts[0];
    state.chainId = parseInt(await provider.request({ method: "eth_chainId" }), 16);
    provider.on?.("accountsChanged", (accs) => { state.account = accs[0]; showAccount(); });
    showAccount();
  }
})();

$("#connect").addEventListener("click", guard(async () => (state.account && state.me !== state.account ? signIn() : state.account ? null : (await connect(), signIn()))));
window.addEventListener("hashchange", () => { if (stream) { stream.abort(); stream = null; } route(); });
route();

// anygram's web page: plain JavaScript over the server's JSON API (POST ./ and ./batch).
"use strict";

const PAGE = 10;        // documents per page
const DISP_LEN = 300;   // tokens shown around a match
const COLOURS = 8;      // clause colours (mark.c0 ... mark.c7 in style.css)
const $ = (id) => document.getElementById(id);
const state = { index: null, types: {}, docs: null };

function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}

async function post(path, body) {
  const r = await fetch(path, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
  if (!r.ok || data.error) {
    const e = new Error(data.error || `HTTP ${r.status}`);
    e.position = data.position;  // where a boolean query could not be parsed
    throw e;
  }
  return data;
}

const query = (type, extra = {}) =>
  post("./", { index: state.index, query_type: type, query: $("query").value, ...extra });

// An error; with `position` (a boolean query that could not be parsed) the query is shown with
// a caret under that character.
function showError(msg, position = undefined) {
  $("error-msg").textContent = msg || "";
  const at = $("error-at");
  at.hidden = position === undefined || position === null;
  if (!at.hidden) {
    const text = $("query").value;
    at.textContent = `${text}\n${" ".repeat(Math.min(position, text.length))}^`;
  }
  $("error").hidden = !msg;
}

const visible = (t) => t.replace(/ /g, "␣").replace(/\n/g, "↵").replace(/\t/g, "⇥");
const clauseClass = (c) => `c${Number(c) % COLOURS}`;

function chips(tokens, ids, suffixFrom = null) {
  return tokens.map((t, i) => {
    const chip = el("span", { class: "tok", title: `id ${ids[i]}` }, visible(t));
    if (suffixFrom !== null && i >= suffixFrom) chip.classList.add("suffix");
    return chip;
  });
}

// The query's tokens; a boolean query (triply nested: clauses of terms of tokens) shows each
// term in its clause's colour, terms joined by OR and clauses by AND.
function showTokens(tokens, ids, suffixFrom = null) {
  const box = $("tokens");
  if (tokens.length && Array.isArray(tokens[0])) {
    const parts = [];
    tokens.forEach((clause, c) => {
      if (c) parts.push(el("span", { class: "op" }, "AND"));
      clause.forEach((term, t) => {
        if (t) parts.push(el("span", { class: "op" }, "OR"));
        parts.push(el("span", { class: `term ${clauseClass(c)}` }, ...chips(term, ids[c][t])));
      });
    });
    box.replaceChildren(...parts);
  } else {
    box.replaceChildren(...chips(tokens, ids, suffixFrom));
  }
  $("summary").hidden = false;
}

function showResult(...parts) {
  $("result").replaceChildren(...parts);
}

const fmt = (n) => Number(n).toLocaleString("en-US");
const latency = (ms) => el("span", { class: "latency" }, ` · ${ms} ms`);

function hideSections() {
  $("docs").hidden = true;
  $("ntd").hidden = true;
  $("creativity").hidden = true;
  $("attribution").hidden = true;
  $("generate").hidden = true;
  showError(null);
}

// How the server read the text (a boolean query, a phrase) and, on BPE indexes, the count of
// each form of the phrase (at a word start, with and without the leading space).
const textOptions = () => ($("exact-tokens").checked ? { exact_tokens: true } : {});

function readingNote(r) {
  if (!r.reading) return "";
  const forms = (r.variants || []).length > 1
    ? ": " + r.variants.map((v) => `${JSON.stringify(v.text)} ${fmt(v.count)}`).join(", ") : "";
  return el("span", { class: "reading", id: "reading" }, ` · ${r.reading.description}${forms}`);
}

async function doCount() {
  const r = await query("count", textOptions());
  showTokens(r.tokens, r.token_ids);
  showResult(el("strong", { id: "count" }, fmt(r.count)),
             ` occurrence${r.count === 1 ? "" : "s"}${r.approx ? " (approx.)" : ""}`,
             readingNote(r), latency(r.latency));
}

// Documents of a query (an n-gram or AND/OR), a page at a time with search_docs_cnf: `offset`
// and `maxnum` page through `total` hits, in index order or in the seed's random order.
function seed() {
  if (!$("random").checked) return undefined;
  if ($("seed").value === "") $("seed").value = String(Math.floor(Math.random() * 1e9));
  return Number($("seed").value);
}

async function doDocs() {
  if (!("search_docs_cnf" in state.types)) return doDocsByRank();
  state.docs = { cnf: true, page: 0, seed: seed(), text: $("query").value, total: null };
  await showPage();
}

function showLegend(tokens) {
  const items = (tokens || []).map((clause, c) => el("span", { class: `key ${clauseClass(c)}` },
    clause.map((term) => term.join("")).join(" OR ")));
  $("legend").replaceChildren(...(items.length > 1 ? items : []));
}

async function showCnfPage() {
  const d = state.docs;
  const extra = { maxnum: PAGE, offset: d.page * PAGE, max_disp_len: DISP_LEN };
  if (d.seed !== undefined) extra.seed = d.seed;
  // search_docs reads the text as count does (boolean only with AND/OR) and pages through
  // search_docs_cnf, a phrase's forms being the terms of one clause.
  const r = await post("./", { index: state.index, query_type: "search_docs", query: d.text,
                               ...textOptions(), ...extra });
  d.total = r.total;
  showTokens(r.tokens, r.token_ids);
  showLegend(r.tokens);
  showResult(el("strong", { id: "count" }, fmt(r.cnt)),
             ` ${r.token_ids.length > 1 ? "matches" : `occurrence${r.cnt === 1 ? "" : "s"}`}`,
             r.approx ? ` (approx.; ${fmt(r.total)} to page through)` : "",
             d.seed !== undefined ? ` · random order, seed ${d.seed}` : "", readingNote(r),
             latency(r.latency));
  const first = r.offset;
  const last = first + r.documents.length;
  $("doc-list").replaceChildren(...r.documents.map(renderDoc));
  $("doc-list").start = first + 1;
  $("page-info").textContent = r.total ? `${fmt(first + 1)}–${fmt(last)} of ${fmt(r.total)}` : "no match";
  $("prev").disabled = d.page === 0;
  $("next").disabled = last >= r.total;
  $("docs").hidden = false;
}

// Without search_docs_cnf: `find` gives each shard's suffix-array range; occurrence i (over
// shards in order) is fetched with get_doc_by_rank, a page at a time through /batch.
async function doDocsByRank() {
  const r = await query("find");
  showTokens(r.tokens, r.token_ids);
  showResult(el("strong", { id: "count" }, fmt(r.cnt)),
             ` occurrence${r.cnt === 1 ? "" : "s"}`, latency(r.latency));
  state.docs = { segments: r.segment_by_shard, cnt: r.cnt, ids: r.token_ids, page: 0 };
  await showPage();
}

function locate(i) {
  const segs = state.docs.segments;
  for (let s = 0; s < segs.length; s++) {
    const n = segs[s][1] - segs[s][0];
    if (i < n) return [s, segs[s][0] + i];
    i -= n;
  }
  return null;
}

async function showPage() {
  if (state.docs.cnf) return showCnfPage();
  const d = state.docs;
  const first = d.page * PAGE;
  const last = Math.min(d.cnt, first + PAGE);
  const reqs = [];
  for (let i = first; i < last; i++) {
    const [s, rank] = locate(i);
    reqs.push({ index: state.index, query_type: "get_doc_by_rank", s, rank,
                max_disp_len: DISP_LEN, query_ids: d.ids });
  }
  const docs = reqs.length ? await post("./batch", reqs) : [];
  $("doc-list").replaceChildren(...docs.map(renderDoc));
  $("page-info").textContent = d.cnt ? `${fmt(first + 1)}–${fmt(last)} of ${fmt(d.cnt)}` : "no match";
  $("prev").disabled = d.page === 0;
  $("next").disabled = last >= d.cnt;
  $("docs").hidden = false;
}

function renderMeta(doc) {
  const items = [el("span", {}, `doc #${doc.doc_ix}`), el("span", {}, `${fmt(doc.doc_len)} tokens`)];
  try {
    const m = JSON.parse(doc.metadata);
    if (m.path) items.push(el("span", {}, `${m.path}${m.linenum !== undefined ? `:${m.linenum + 1}` : ""}`));
    for (const [k, v] of Object.entries(m.metadata || {})) {
      items.push(el("span", {}, `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`));
    }
  } catch (e) {
    if (doc.metadata) items.push(el("span", {}, doc.metadata));
  }
  return el("div", { class: "meta" }, ...items);
}

const renderDoc = (doc) => docElement(doc, "li");

function docElement(doc, tag) {
  if (doc.error) return el(tag, { class: "doc" }, `error: ${doc.error}`);
  const text = el("div", { class: "text" });
  const spans = doc.spans || [[doc.text || "", null]];
  const before = doc.disp_offset > 0 ? "… " : "";
  const after = doc.disp_offset + doc.disp_len < doc.doc_len ? " …" : "";
  text.append(before);
  for (const [t, label] of spans) {
    text.append(label === null ? t : el("mark", { class: clauseClass(label), title: `clause ${Number(label) + 1}` }, t));
  }
  text.append(after);
  return el(tag, { class: "doc" }, renderMeta(doc), text);
}

async function doNtd() {
  const r = await query("ntd");
  showTokens(r.tokens, r.token_ids);
  showResult(`prompt count ${fmt(r.prompt_cnt)}${r.approx ? " (approx.)" : ""}`, latency(r.latency));
  renderBars(r.result_by_token_id);
}

function renderBars(byId) {
  const rows = Object.entries(byId || {}).sort((a, b) => b[1].prob - a[1].prob).slice(0, 25);
  const top = rows.length ? rows[0][1].prob : 1;
  $("ntd-bars").replaceChildren(...rows.map(([id, e]) => el("li", { class: "bar" },
    el("span", { class: "label", title: `id ${id}` }, JSON.stringify(e.token ?? id)),
    (() => { const f = el("span", { class: "fill" }); f.style.width = `${(100 * e.prob) / top}%`; return f; })(),
    el("span", { class: "num" }, `${(100 * e.prob).toFixed(1)}% · ${fmt(e.cont_cnt)}`))));
  $("ntd").hidden = false;
}

// ∞-gram: the last token is the continuation; the longest suffix of the prompt found in the
// index is highlighted among the tokens.
async function doInfgram() {
  const r = await query("infgram_prob");
  const promptLen = r.token_ids.length - 1;
  showTokens(r.tokens, r.token_ids, promptLen - r.suffix_len);
  const chips = $("tokens").children;
  if (chips.length) chips[chips.length - 1].classList.remove("suffix");
  showResult(`P(${JSON.stringify(r.tokens[r.tokens.length - 1] ?? "")} | longest suffix) = `,
             el("strong", { id: "prob" }, r.prob < 0 ? "undefined" : r.prob.toFixed(4)),
             ` · n = ${r.suffix_len + 1} · ${fmt(r.cont_cnt)} / ${fmt(r.prompt_cnt)}`,
             latency(r.latency));
}

// Creativity: for each position l, rs[l] - l tokens from l occur in the index.
async function doCreativity() {
  const r = await query("creativity");
  showTokens(r.tokens, r.token_ids);
  const lens = r.rs.map((end, l) => end - l);
  const top = Math.max(1, ...lens);
  const mean = lens.length ? lens.reduce((a, b) => a + b, 0) / lens.length : 0;
  $("creativity-tokens").replaceChildren(...r.tokens.map((t, l) => {
    const chip = el("span", { class: "tok crea", title: `${lens[l]} token${lens[l] === 1 ? "" : "s"} from here occur in the index` },
                    visible(t), el("small", {}, String(lens[l])));
    chip.style.setProperty("--level", (lens[l] / top).toFixed(3));
    return chip;
  }));
  showResult("longest match per position: mean ", el("strong", { id: "crea-mean" }, mean.toFixed(1)),
             ` tokens, max ${fmt(top)}`, latency(r.latency));
  $("creativity").hidden = false;
}

// Attribution: the maximal spans of the text that occur in the index, longest first, each with
// its count and its first document (the span marked); tokens in a span are highlighted.
const ATTR_MIN_LEN = 4;

async function doAttribute() {
  const r = await query("attribute", {
    min_len: ATTR_MIN_LEN, max_docs: 1, return_docs: true, max_disp_len: 120, rank_by: "length",
    enforce_bow: true,
    max_spans: 20,
  });
  showTokens(r.tokens, r.token_ids);
  const chipEls = $("tokens").children;
  for (const span of r.spans) {
    for (let i = span.l; i < span.r && i < chipEls.length; i++) chipEls[i].classList.add("suffix");
  }
  $("attr-min").textContent = String(ATTR_MIN_LEN);
  $("attr-list").replaceChildren(...r.spans.map((span) => {
    const head = el("div", { class: "meta" },
      el("strong", { class: "span-text" }, JSON.stringify(span.text)),
      el("span", {}, `${span.length} tokens`),
      el("span", {}, `${fmt(span.count)} occurrence${span.count === 1 ? "" : "s"}`));
    const doc = span.docs.length && span.docs[0].document;
    return el("li", { class: "doc attr" }, head, ...(doc ? [docElement(doc, "div")] : []));
  }));
  showResult(el("strong", { id: "attr-count" }, fmt(r.spans.length)),
             ` span${r.spans.length === 1 ? "" : "s"} of ${ATTR_MIN_LEN}+ tokens found`, latency(r.latency));
  $("attribution").hidden = false;
}

// Continue: a continuation sampled from the ∞-gram model with a fresh seed (shown, so the same
// request gives the same tokens); each new token is shaded by the suffix it was drawn after.
const GEN_TOKENS = 40;

async function doGenerate() {
  const seed = Math.floor(Math.random() * 1e9);
  const r = await query("generate", { max_new_tokens: GEN_TOKENS, seed });
  showTokens(r.tokens, r.token_ids);
  const top = Math.max(1, ...r.suffix_len);
  $("gen-tokens").replaceChildren(...r.new_tokens.map((t, i) => {
    const n = r.suffix_len[i];
    const chip = el("span", { class: "tok crea", title: `drawn after a suffix of ${n} token${n === 1 ? "" : "s"}` },
                    visible(t));
    chip.style.setProperty("--level", (n / top).toFixed(3));
    return chip;
  }));
  $("gen-text").textContent = r.text ?? "";
  showResult(el("strong", { id: "gen-count" }, fmt(r.new_token_ids.length)),
             ` new token${r.new_token_ids.length === 1 ? "" : "s"}, stopped at `,
             r.stop === "eos" ? "a document end" : "the length limit", ` · seed ${seed}`,
             latency(r.latency));
  $("generate").hidden = false;
}

const ACTIONS = {
  count: doCount, docs: doDocs, ntd: doNtd, infgram: doInfgram, creativity: doCreativity,
  attribute: doAttribute, generate: doGenerate,
};

async function run(action) {
  if (!$("query").value) return;
  hideSections();
  const buttons = document.querySelectorAll("[data-action]");
  buttons.forEach((b) => (b.disabled = true));
  try {
    await ACTIONS[action]();
  } catch (e) {
    showError(e.message, e.position);
  } finally {
    buttons.forEach((b) => (b.disabled = false));
  }
}

async function init() {
  const [indexes, types] = await Promise.all([
    fetch("indexes").then((r) => r.json()), fetch("query_types").then((r) => r.json()),
  ]);
  state.types = types;
  $("btn-ntd").hidden = !("ntd" in types);
  $("btn-infgram").hidden = !("infgram_prob" in types);
  $("btn-creativity").hidden = !("creativity" in types);
  $("btn-attribute").hidden = !("attribute" in types);
  $("btn-generate").hidden = !("generate" in types);
  $("search-options").hidden = !("search_docs_cnf" in types);
  $("reseed").addEventListener("click", () => {
    $("seed").value = String(Math.floor(Math.random() * 1e9));
    $("random").checked = true;
    if (state.docs && state.docs.cnf) run("docs");
  });
  const sel = $("index");
  sel.replaceChildren(...indexes.map((ix) => el("option", { value: ix.name }, ix.name)));
  const facts = () => {
    const ix = indexes.find((i) => i.name === sel.value);
    state.index = sel.value;
    $("index-facts").textContent = ix
      ? `${fmt(ix.num_tokens)} tokens · ${fmt(ix.num_docs)} docs · ${ix.tokenizer.kind}` : "";
  };
  sel.addEventListener("change", () => { facts(); if ($("query").value) run("count"); });
  facts();
  $("query-form").addEventListener("submit", (e) => { e.preventDefault(); run("count"); });
  for (const b of document.querySelectorAll("button[data-action]")) {
    if (b.type !== "submit") b.addEventListener("click", () => run(b.dataset.action));
  }
  $("prev").addEventListener("click", () => { state.docs.page--; showPage().catch((e) => showError(e.message)); });
  $("next").addEventListener("click", () => { state.docs.page++; showPage().catch((e) => showError(e.message)); });
  document.body.dataset.ready = "1";
}

init().catch((e) => showError(`cannot load: ${e.message}`));

// Rozgar centre app: plain JavaScript, no framework, nothing from the
// internet.  Pages are views of the URL's #hash; every change is a POST to
// the node's own API with the session's CSRF token.  Text from the records
// is only ever set with textContent (never as HTML).
"use strict";

let ME = null;               // {user, role, admin, csrf, node, ...}
const ARABIC = /[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]/;

// ---- helpers ----------------------------------------------------------

function $(sel, root) { return (root || document).querySelector(sel); }
function $all(sel, root) { return Array.from((root || document).querySelectorAll(sel)); }

// el("a", {href: "#/x", class: "y"}, "text", child...): safe element builder.
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const k of kids) {
    if (k === null || k === undefined) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

// Text that may be Urdu: right-to-left in its own box, Nastaliq font.
function txt(s, tag) {
  const e = el(tag || "span", {dir: "auto"}, s || "");
  if (ARABIC.test(s || "")) e.lang = "ur";
  return e;
}

function markUrdu(input) {
  const set = () => { input.lang = ARABIC.test(input.value) ? "ur" : ""; };
  input.addEventListener("input", set);
  set();
}

function fmt(n) { return Number(n || 0).toLocaleString("en-US"); }

// The message of an error answer: JSON {"error"}, or the gate's HTML page.
async function errorOf(res) {
  const type = res.headers.get("Content-Type") || "";
  try {
    if (type.startsWith("application/json")) return (await res.json()).error || res.statusText;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    const m = doc.getElementById("msg");
    return m ? m.textContent : res.statusText;
  } catch (e) { return res.statusText; }
}

class ApiError extends Error {
  constructor(status, msg, data) { super(msg); this.status = status; this.data = data; }
}

// GET path -> JSON.  An ended session goes to the sign-in page.
async function get(path) {
  let res;
  try { res = await fetch(path, {credentials: "same-origin"}); }
  catch (e) { throw new ApiError(0, "the centre app does not answer; is rozgar-node serve running?"); }
  if (res.status === 401) { location.href = "/login"; throw new ApiError(401, "please sign in"); }
  if (!res.ok) throw new ApiError(res.status, await errorOf(res));
  return res.json();
}

// POST form fields (object or FormData) with the CSRF token -> JSON.
// 422 answers carry field messages and are returned, not thrown.
async function post(path, fields) {
  const body = new URLSearchParams();
  if (fields instanceof FormData) for (const [k, v] of fields) body.append(k, v);
  else for (const [k, v] of Object.entries(fields || {})) body.append(k, v);
  body.set("csrf", ME ? ME.csrf : "");
  let res;
  try { res = await fetch(path, {method: "POST", body, credentials: "same-origin"}); }
  catch (e) { throw new ApiError(0, "the centre app does not answer; is rozgar-node serve running?"); }
  if (res.status === 401) { location.href = "/login"; throw new ApiError(401, "please sign in"); }
  const type = res.headers.get("Content-Type") || "";
  if (res.status === 422 && type.startsWith("application/json")) return res.json();
  if (!res.ok) throw new ApiError(res.status, await errorOf(res));
  return res.json();
}

function flash(msg, kind) {
  const f = $("#flash");
  f.textContent = msg;
  f.className = "banner " + (kind || "ok");
  f.hidden = !msg;
  if (msg) window.scrollTo(0, 0);
}

function clearFlash() { flash("", "ok"); }

function showError(e) { flash(e.message || String(e), "error"); }

function view(title, ...kids) {
  const main = $("#main");
  main.replaceChildren(el("h1", {id: "page-title"}, title), ...kids);
  return main;
}

function fromTemplate(id) { return document.getElementById(id).content.cloneNode(true); }

// Field messages of a form verdict {errors, warnings}.
function showVerdict(form, v) {
  for (const m of $all(".msg", form)) { m.textContent = ""; m.className = "msg"; }
  for (const f of $all(".field", form)) f.classList.remove("bad", "doubt");
  for (const [level, cls] of [["warnings", "warn"], ["errors", "error"]]) {
    for (const [name, msg] of Object.entries((v && v[level]) || {})) {
      const m = $(`.msg[data-for="${name}"]`, form);
      if (!m) continue;
      m.textContent = msg;
      m.className = "msg " + cls;
      m.closest(".field").classList.add(cls === "error" ? "bad" : "doubt");
    }
  }
}

function fillForm(form, rec) {
  for (const [k, v] of Object.entries(rec)) {
    const input = form.elements.namedItem(k);
    if (input && typeof v !== "object") input.value = v;
  }
  for (const i of $all("input[dir=auto]", form)) markUrdu(i);
}

// A correction sends only the fields staff changed (and the id), so the
// log records what was corrected, not every field again.
function changedFields(form, rec) {
  const fd = new FormData();
  for (const [k, v] of new FormData(form)) {
    const was = rec[k] === undefined || rec[k] === null ? "" : String(rec[k]);
    if (k === "id" || v !== was) fd.set(k, v);
  }
  return fd;
}

function personLink(p) {
  /* A recovered person whose name headquarters erased (lawful request) has
   * none: the link still needs words to click. */
  return el("a", {href: "#/person/" + p.id, class: "person-link", "data-code": p.code},
            txt(p.name || "(name erased)"));
}

// ---- pages ------------------------------------------------------------

async function pageHome() {
  const main = view("Welcome, " + ME.user);
  main.append(fromTemplate("t-home"));
  const [s, people, up] = await Promise.all([get("/api/sync"), get("/api/persons?limit=1"),
                                             get("/api/events?when=upcoming&limit=5")]);
  $("#home-pending").textContent = s.pending ? `${fmt(s.pending)} changes waiting to be sent`
                                             : "everything sent";
  main.append(el("p", {id: "home-facts", class: "counts"},
                 `${fmt(people.total)} ${people.total === 1 ? "person" : "people"} registered here · ` +
                 `${fmt(up.total)} upcoming event${up.total === 1 ? "" : "s"}`),
              el("h2", {}, "Next events"), eventTable("home-events", up.rows));
  if (ME.fingerprint) {
    main.append(el("p", {class: "muted small", id: "fingerprint"},
      "This app's certificate (SHA-256), to compare with what the browser shows: ",
      el("code", {class: "fpr"}, ME.fingerprint)));
  }
}

// Register (no id) or open and correct (id).
async function pagePerson(id) {
  const main = view(id ? "Person" : "Register a person");
  main.append(fromTemplate("t-person-form"));
  const form = $("#person-form");
  for (const i of $all("input[dir=auto]", form)) markUrdu(i);
  let rec = null;
  if (id) {
    rec = (await get("/api/person?id=" + encodeURIComponent(id))).person;
    $("#page-title").replaceChildren("Person ", el("span", {class: "code"}, rec.code), " ",
                                     txt(rec.name));
    fillForm(form, rec);
    $("#person-save").textContent = "Save correction";
    const del = el("button", {type: "button", id: "person-delete", class: "danger"},
                   rec.deleted ? "Undelete" : "Delete");
    del.addEventListener("click", async () => {
      if (!rec.deleted && !confirm("Delete this person? Attendance stops counting; an undelete brings it back.")) return;
      try {
        await post(rec.deleted ? "/api/person/undelete" : "/api/person/delete", {id: rec.id});
        flash(rec.deleted ? "Undeleted." : "Deleted. You can undelete it from this page.", "ok");
        route();
      } catch (e) { showError(e); }
    });
    $(".actions", form).append(del);
    if (rec.deleted) main.insertBefore(el("p", {class: "banner warn", id: "deleted-note"},
                                          "This person is deleted."), form);
  } else {
    $("#p-reg_date").value = new Date().toISOString().slice(0, 10);
  }
  const save = async (confirmDup) => {
    const fd = id ? changedFields(form, rec) : new FormData(form);
    if (!id) fd.delete("id");
    if (confirmDup) fd.set("confirm", "1");
    clearFlash();
    $("#person-status").textContent = "saving…";
    let r;
    try { r = await post("/api/person/save", fd); }
    catch (e) { $("#person-status").textContent = ""; showError(e); return; }
    $("#person-status").textContent = "";
    showVerdict(form, r);
    const box = $("#dup-box");
    box.hidden = true;
    if (r.duplicates && r.duplicates.length && !r.saved) {
      const list = $("#dup-list");
      list.replaceChildren(...r.duplicates.map(d => el("li", {},
        personLink(d.person), " ", el("span", {class: "code"}, d.person.code), " — ",
        d.why.join(", "), d.person.deleted ? " (deleted)" : "", " · ",
        el("a", {href: "#/person/" + d.person.id, class: "open-existing"}, "open this record"))));
      box.hidden = false;
      return;
    }
    if (!r.saved) {
      flash(r.ok ? "Nothing changed." : "Please correct the fields marked in red.",
            r.ok ? "ok" : "error");
      return;
    }
    const warn = Object.keys(r.warnings || {}).length;
    flash(`Saved ${r.code}${warn ? " (with warnings: see the fields in amber)" : ""}.`, "ok");
    if (!id) {
      form.reset();
      $("#p-reg_date").value = new Date().toISOString().slice(0, 10);
      showVerdict(form, warn ? r : {});
      if ($("#last-saved")) $("#last-saved").remove();
      main.append(el("p", {id: "last-saved"}, "Last saved: ",
                     el("a", {href: "#/person/" + r.id}, r.code)));
    } else {
      route();
    }
  };
  form.addEventListener("submit", (ev) => { ev.preventDefault(); save(false); });
  $("#dup-save").addEventListener("click", () => save(true));
}

async function pageFind(q) {
  const input = el("input", {id: "find-q", type: "search", dir: "auto", value: q || "",
                             placeholder: "name, CNIC, phone or code", autocomplete: "off"});
  const withDeleted = el("input", {type: "checkbox", id: "find-deleted"});
  const results = el("div", {id: "find-results"});
  const main = view("Find a person",
    el("form", {id: "find-form", class: "search"}, input,
       el("button", {type: "submit", class: "primary"}, "Find"),
       el("label", {class: "check"}, withDeleted, " include deleted")),
    results);
  markUrdu(input);
  const run = async (offset) => {
    const u = `/api/persons?q=${encodeURIComponent(input.value)}&offset=${offset || 0}` +
              (withDeleted.checked ? "&deleted=1" : "");
    const r = await get(u);
    const rows = r.rows.map(p => el("tr", {class: p.deleted ? "deleted" : ""},
      el("td", {class: "code"}, p.code), el("td", {}, personLink(p)),
      el("td", {class: "nowrap"}, p.cnic), el("td", {class: "nowrap hide-narrow"}, p.phone),
      el("td", {class: "hide-narrow"}, txt(p.district)),
      el("td", {}, p.deleted ? "deleted" : "")));
    results.replaceChildren(
      el("p", {id: "find-count", class: "muted"},
         r.total ? `${fmt(r.total)} found` + (r.total > r.rows.length ? `, showing ${r.offset + 1}–${r.offset + r.rows.length}` : "")
                 : (input.value ? "Nobody found. Try part of the name, or the CNIC without dashes." : "No one registered yet.")),
      r.rows.length ? el("div", {class: "scroll"}, el("table", {id: "find-table"},
        el("thead", {}, el("tr", {}, el("th", {}, "Code"), el("th", {}, "Name"), el("th", {}, "CNIC"),
          el("th", {class: "hide-narrow"}, "Phone"), el("th", {class: "hide-narrow"}, "District"), el("th", {}, ""))),
        el("tbody", {}, ...rows))) : "",
      pager(r, run));
  };
  $("#find-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    history.replaceState(null, "", "#/find?q=" + encodeURIComponent(input.value));
    run(0).catch(showError);
  });
  withDeleted.addEventListener("change", () => run(0).catch(showError));
  await run(0);
  input.focus();
  return main;
}

function pager(r, run) {
  if (r.total <= r.limit) return "";
  const p = el("div", {class: "pager"});
  if (r.offset > 0) p.append(el("button", {type: "button", onclick: () => run(Math.max(0, r.offset - r.limit)).catch(showError)}, "‹ previous"));
  if (r.offset + r.rows.length < r.total) p.append(el("button", {type: "button", onclick: () => run(r.offset + r.limit).catch(showError)}, "next ›"));
  return p;
}

function eventRow(e) {
  return el("tr", {class: e.deleted ? "deleted" : ""},
    el("td", {class: "nowrap"}, e.date), el("td", {class: "code"}, e.code),
    el("td", {}, txt(e.title)), el("td", {class: "hide-narrow"}, e.kind),
    el("td", {},
       el("a", {href: "#/attendance/" + e.id, class: "button small", "data-attend": e.code}, "Attendance"), " ",
       el("a", {href: "#/event/" + e.id, class: "small"}, "correct")));
}

function eventTable(id, rows) {
  if (!rows.length) return el("p", {class: "muted", id: id + "-none"}, "None.");
  return el("div", {class: "scroll"}, el("table", {id},
    el("thead", {}, el("tr", {}, el("th", {}, "Date"), el("th", {}, "Code"), el("th", {}, "Title"),
      el("th", {class: "hide-narrow"}, "Kind"), el("th", {}, ""))),
    el("tbody", {}, ...rows.map(eventRow))));
}

async function pageEvents() {
  const main = view("Events");
  const [up, past] = await Promise.all([get("/api/events?when=upcoming&limit=200"),
                                        get("/api/events?when=past&limit=200")]);
  main.append(el("h2", {}, `Upcoming (${fmt(up.total)})`), eventTable("events-upcoming", up.rows),
              el("h2", {}, "New event"), fromTemplate("t-event-form"),
              el("h2", {}, `Past (${fmt(past.total)})`), eventTable("events-past", past.rows));
  const form = $("#event-form");
  $("#e-date").value = new Date().toISOString().slice(0, 10);
  for (const i of $all("input[dir=auto]", form)) markUrdu(i);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(form);
    fd.delete("id");
    try {
      const r = await post("/api/event/save", fd);
      showVerdict(form, r);
      if (!r.saved) { flash("Please correct the fields marked in red.", "error"); return; }
      flash(`Event ${r.code} saved.`, "ok");
      route();
    } catch (e) { showError(e); }
  });
}

async function pageEvent(id) {
  const main = view("Event");
  const ev = (await get("/api/event?id=" + encodeURIComponent(id))).event;
  $("#page-title").replaceChildren("Event ", el("span", {class: "code"}, ev.code), " ", txt(ev.title));
  main.append(fromTemplate("t-event-form"));
  const form = $("#event-form");
  fillForm(form, ev);
  $("#event-save").textContent = "Save correction";
  const del = el("button", {type: "button", id: "event-delete", class: "danger"}, ev.deleted ? "Undelete" : "Delete");
  del.addEventListener("click", async () => {
    if (!ev.deleted && !confirm("Delete this event? Its attendance stops counting.")) return;
    try {
      await post(ev.deleted ? "/api/event/undelete" : "/api/event/delete", {id: ev.id});
      flash(ev.deleted ? "Undeleted." : "Deleted.", "ok");
      route();
    } catch (e) { showError(e); }
  });
  $(".actions", form).append(del, " ", el("a", {href: "#/attendance/" + ev.id, class: "button"}, "Attendance"));
  form.addEventListener("submit", async (e2) => {
    e2.preventDefault();
    try {
      const r = await post("/api/event/save", changedFields(form, ev));
      showVerdict(form, r);
      if (r.saved) { flash("Saved.", "ok"); route(); }
      else if (!r.ok) flash("Please correct the fields marked in red.", "error");
      else flash("Nothing changed.", "ok");
    } catch (e) { showError(e); }
  });
}

function countsText(k) {
  return `${fmt(k.present)} present · ${fmt(k.absent)} absent · ${fmt(k.people)} people registered here`;
}

async function pageAttendance(id) {
  const main = view("Attendance");
  const q = el("input", {id: "att-q", type: "search", dir: "auto", placeholder: "search name, CNIC or phone", autocomplete: "off"});
  markUrdu(q);
  const marked = el("input", {type: "checkbox", id: "att-marked"});
  const counts = el("p", {id: "att-counts", class: "counts", "aria-live": "polite"});
  const list = el("div", {id: "att-list"});
  let offset = 0;
  const load = async () => {
    const r = await get(`/api/roster?event=${encodeURIComponent(id)}&q=${encodeURIComponent(q.value)}` +
                        `&offset=${offset}&limit=100` + (marked.checked ? "&marked=1" : ""));
    const ev = r.event;
    $("#page-title").replaceChildren("Attendance: ", txt(ev.title), " ", el("span", {class: "muted small"}, ev.date));
    counts.textContent = countsText(r.counts);
    list.replaceChildren(
      r.rows.length ? el("ul", {class: "roster"}, ...r.rows.map(p => rosterRow(id, p, counts))) :
        el("p", {class: "muted"}, q.value ? "Nobody matches." : "No one registered here yet: add a person below."),
      pager({total: r.counts.matching, limit: r.limit, offset: r.offset, rows: r.rows},
            (o) => { offset = o; return load(); }));
  };
  main.append(counts,
    el("form", {class: "search", id: "att-form", onsubmit: (e) => { e.preventDefault(); offset = 0; load().catch(showError); }},
       q, el("button", {type: "submit"}, "Search"), el("label", {class: "check"}, marked, " only those marked")),
    list, el("h2", {}, "Add a person on the spot"), quickAdd(id, () => load()));
  q.addEventListener("input", () => { offset = 0; load().catch(showError); });
  marked.addEventListener("change", () => { offset = 0; load().catch(showError); });
  await load();
}

function rosterRow(eventId, p, counts) {
  const name = "st-" + p.id;
  const opt = (value, label) => {
    const r = el("input", {type: "radio", name, value, checked: p.state === value, "data-person": p.code});
    r.addEventListener("change", async () => {
      li.classList.add("saving");
      try {
        const res = await post("/api/attend", {event: eventId, person: p.id, state: value});
        counts.textContent = countsText(res.counts);
        p.state = value;
        li.dataset.state = value;
      } catch (e) {
        showError(e);
        for (const x of $all(`input[name="${name}"]`, li)) x.checked = x.value === p.state;
      }
      li.classList.remove("saving");
    });
    return el("label", {class: "tick " + value}, r, " ", label);
  };
  const li = el("li", {"data-state": p.state, "data-code": p.code},
    el("div", {class: "who"}, txt(p.name || "(name erased)", "b"), " ",
       el("span", {class: "code"}, p.code),
       el("span", {class: "muted small"}, " ", p.cnic || p.phone || "")),
    el("div", {class: "ticks"}, opt("present", "present"), opt("absent", "absent"), opt("none", "not marked")));
  return li;
}

function quickAdd(eventId, reload) {
  const f = el("form", {id: "quick-add", class: "record", novalidate: true},
    el("div", {class: "grid"},
      el("div", {class: "field wide"}, el("label", {for: "q-name"}, "Name *"),
         el("input", {id: "q-name", name: "name", dir: "auto", maxlength: 512}), el("div", {class: "msg", "data-for": "name"})),
      el("div", {class: "field"}, el("label", {for: "q-gender"}, "Gender *"),
         el("select", {id: "q-gender", name: "gender"}, el("option", {value: ""}, "choose…"),
            el("option", {value: "female"}, "female"), el("option", {value: "male"}, "male"),
            el("option", {value: "other"}, "other")), el("div", {class: "msg", "data-for": "gender"})),
      el("div", {class: "field"}, el("label", {for: "q-cnic"}, "CNIC"),
         el("input", {id: "q-cnic", name: "cnic", inputmode: "numeric", maxlength: 20}), el("div", {class: "msg", "data-for": "cnic"})),
      el("div", {class: "field"}, el("label", {for: "q-phone"}, "Phone"),
         el("input", {id: "q-phone", name: "phone", inputmode: "tel", maxlength: 20}), el("div", {class: "msg", "data-for": "phone"}))),
    el("div", {id: "q-dup", class: "banner warn", hidden: true}),
    el("div", {class: "actions"}, el("button", {type: "submit", class: "primary"}, "Add and mark present")));
  markUrdu($("#q-name", f));
  let confirmDup = false;
  f.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const fd = new FormData(f);
    fd.set("reg_date", new Date().toISOString().slice(0, 10));
    if (confirmDup) fd.set("confirm", "1");
    try {
      const r = await post("/api/person/save", fd);
      showVerdict(f, r);
      const box = $("#q-dup", f);
      if (r.duplicates && r.duplicates.length && !r.saved) {
        box.replaceChildren("Already registered? ",
          ...r.duplicates.map(d => el("span", {}, personLink(d.person), " (", d.why.join(", "), ") ")),
          el("button", {type: "button", onclick: () => { confirmDup = true; f.requestSubmit(); }}, "Not the same person: add anyway"));
        box.hidden = false;
        return;
      }
      if (!r.saved) return;
      box.hidden = true;
      confirmDup = false;
      await post("/api/attend", {event: eventId, person: r.id, state: "present"});
      flash(`Added ${r.code} and marked present.`, "ok");
      f.reset();
      await reload();
    } catch (e) { showError(e); }
  });
  return f;
}

async function pageImport() {
  const kind = el("select", {id: "imp-kind"}, el("option", {value: "people"}, "people"),
                  el("option", {value: "events"}, "events"), el("option", {value: "attendance"}, "attendance"));
  const file = el("input", {type: "file", id: "imp-file", accept: ".csv,text/csv"});
  const check = el("button", {type: "button", id: "imp-check", class: "primary"}, "Check the file");
  const go = el("button", {type: "button", id: "imp-go", disabled: true}, "Import");
  const out = el("div", {id: "imp-result"});
  view("Import a spreadsheet",
    el("p", {class: "muted"}, "Save the sheet as “CSV UTF-8” in Excel. The first line names the columns " +
       "(any case; e.g. Name, Gender, CNIC, Phone, Birth year, District). Nothing is imported " +
       "until every row is right; importing the same file again adds nothing twice."),
    el("div", {class: "search"}, el("label", {}, "The file holds ", kind), file, check, go), out);
  let text = null;
  const send = async (dry) => {
    if (!file.files.length) { flash("Choose a file first.", "error"); return null; }
    text = await file.files[0].arrayBuffer();
    let res;
    try {
      res = await fetch(`/api/import?kind=${kind.value}&dry_run=${dry ? 1 : 0}`, {
        method: "POST", body: text, credentials: "same-origin",
        headers: {"Content-Type": "text/csv", "X-CSRF-Token": ME.csrf}});
    } catch (e) { throw new ApiError(0, "the centre app does not answer"); }
    if (res.status === 401) { location.href = "/login"; return null; }
    const type = res.headers.get("Content-Type") || "";
    if (!type.startsWith("application/json")) throw new ApiError(res.status, await errorOf(res));
    const r = await res.json();
    if (!res.ok && res.status !== 422) throw new ApiError(res.status, r.error || res.statusText);
    return r;
  };
  const show = (r, dry) => {
    const cols = el("table", {id: "imp-columns"}, el("thead", {}, el("tr", {}, ...r.columns.map(c => el("th", {}, txt(c.header))))),
      el("tbody", {}, el("tr", {class: "matched"}, ...r.columns.map(c => el("td", {class: c.field ? "" : "ignored"}, c.field ? "→ " + c.field : "ignored"))),
        ...r.preview.map(p => el("tr", {}, ...p.cells.map(v => el("td", {}, txt(v)))))));
    const probs = r.problems.filter(p => !p.warning);
    const warns = r.problems.filter(p => p.warning);
    out.replaceChildren(
      el("p", {id: "imp-summary", class: "banner " + (r.ok ? "ok" : "error")},
         r.ok ? (dry ? `${fmt(r.rows)} rows read: ${fmt(r.added)} would be added, ${fmt(r.known)} are already here.`
                     : `Imported: ${fmt(r.added)} added, ${fmt(r.known)} were already here.`)
              : `${fmt(r.bad)} of ${fmt(r.rows)} rows cannot be imported. Nothing was imported. Correct them in the sheet and check again.`),
      el("h2", {}, "Columns and first rows"), el("div", {class: "scroll"}, cols),
      probs.length ? el("h2", {}, "Rows to correct") : "",
      probs.length ? el("ul", {id: "imp-problems", class: "problems"}, ...probs.map(p => el("li", {"data-line": p.line}, el("b", {}, `line ${p.line}: `), p.reason))) : "",
      r.problems_all > r.problems.length ? el("p", {class: "muted"}, `… and ${fmt(r.problems_all - r.problems.length)} more.`) : "",
      warns.length ? el("h2", {}, "Recorded with a warning") : "",
      warns.length ? el("ul", {id: "imp-warnings", class: "problems warn"}, ...warns.map(p => el("li", {}, el("b", {}, `line ${p.line}: `), p.reason))) : "",
      r.duplicates.length ? el("h2", {}, "Possible duplicates (imported, never merged)") : "",
      r.duplicates.length ? el("ul", {id: "imp-dups"}, ...r.duplicates.map(d => el("li", {}, `line ${d.line} resembles `, el("a", {href: "#/person/" + d.id}, d.code)))) : "");
    go.disabled = !(dry && r.ok && r.added > 0);
  };
  check.addEventListener("click", async () => {
    clearFlash();
    try { const r = await send(true); if (r) show(r, true); } catch (e) { showError(e); }
  });
  go.addEventListener("click", async () => {
    go.disabled = true;
    try { const r = await send(false); if (r) { show(r, false); go.disabled = true; } } catch (e) { showError(e); }
  });
  file.addEventListener("change", () => { go.disabled = true; out.replaceChildren(); });
}

async function pageExport() {
  if (!ME.admin) { view("Export", el("p", {}, "Only an administrator may export: the files hold personal values.")); return; }
  view("Export",
    el("p", {class: "muted"}, "CSV files that open correctly in Excel (Urdu included). They hold personal values: keep them safe."),
    el("ul", {class: "links"},
      el("li", {}, el("a", {href: "/api/export?kind=people", id: "export-people", download: "rozgar-people.csv"}, "People")),
      el("li", {}, el("a", {href: "/api/export?kind=events", download: "rozgar-events.csv"}, "Events")),
      el("li", {}, el("a", {href: "/api/export?kind=attendance", download: "rozgar-attendance.csv"}, "Attendance"))));
}

let syncTimer = null;

async function pageSync() {
  const bar = el("progress", {id: "sync-bar", max: 1, value: 0});
  const btn = el("button", {type: "button", id: "sync-now", class: "primary"}, "Sync now");
  const main = view("Sync with headquarters",
    el("dl", {class: "facts"},
      el("dt", {}, "Waiting to be sent"), el("dd", {id: "sync-pending"}),
      el("dt", {}, "Last successful sync"), el("dd", {id: "sync-ok"}),
      el("dt", {}, "Last contact with the server"), el("dd", {id: "sync-last"}),
      el("dt", {}, "Server"), el("dd", {id: "sync-server"}),
      el("dt", {}, "Automatic sync"), el("dd", {id: "sync-auto"})),
    el("div", {class: "actions"}, btn),
    el("div", {id: "sync-progress", hidden: true}, bar, el("span", {id: "sync-progress-text"})),
    el("div", {id: "sync-answer"}));
  const refresh = async () => {
    const s = await get("/api/sync");
    $("#sync-pending").textContent = s.pending ? `${fmt(s.pending)} changes` : "nothing: everything was sent";
    $("#sync-ok").textContent = s.last_ok || "never";
    $("#sync-last").textContent = s.last_contact || "never";
    $("#sync-server").textContent = s.server || "not set up (an administrator runs rozgar-node config)";
    $("#sync-auto").textContent = s.auto_wait ? `waiting: ${s.auto_wait}`
      : !s.auto ? "off (only when someone presses Sync now)"
      : s.running ? "on · syncing now"
      : `on · next sync within ${fmt(s.next_s)} s` +
        (s.failures ? ` (the server was not reached ${fmt(s.failures)} times in a row)` : "");
    updateClock(s.clock_warning);
    updatePending(s.pending);
    btn.disabled = s.running;
    $("#sync-progress").hidden = !s.running && !(s.last && s.total);
    bar.max = Math.max(1, s.total);
    // A sync that ended well fills the bar, even one that found nothing to send.
    bar.value = s.running ? s.done : (s.last && s.last.ok ? bar.max : s.done);
    $("#sync-progress-text").textContent = s.running
      ? (s.delegated ? ` the running sync (${s.delegated}) was asked to sync now: ` : " ") +
        `${fmt(s.done)} of ${fmt(s.total)} sent · ${s.rate.toFixed(0)} per second`
      : (s.total ? ` ${fmt(s.last && s.last.ok ? s.total : s.done)} of ${fmt(s.total)} sent` : "");
    const a = $("#sync-answer");
    if (s.last) {
      a.replaceChildren(el("div", {class: "banner " + (s.last.ok ? "ok" : "error"), id: "sync-result", "data-ok": s.last.ok ? "true" : "false"},
        el("b", {}, s.last.words), s.last.todo ? el("p", {}, "What to do: ", s.last.todo) : "",
        el("p", {class: "muted small"}, `${s.last.when}, started by ${s.last.by}` + (s.last.detail && !s.last.ok ? ` · ${s.last.detail}` : ""))));
    }
    if ((s.running || s.auto) && location.hash.startsWith("#/sync")) {
      // Follow a run closely; while the automatic sync waits, look now and then.
      clearTimeout(syncTimer);
      syncTimer = setTimeout(() => refresh().catch(showError), s.running ? 500 : 5000);
    }
    return s;
  };
  btn.addEventListener("click", async () => {
    btn.disabled = true;
    try { await post("/api/sync", {}); } catch (e) { showError(e); }
    await refresh();
  });
  await refresh();
  return main;
}

async function pageStaff() {
  if (!ME.admin) { view("Staff", el("p", {}, "Only an administrator manages staff accounts.")); return; }
  const r = await get("/api/staff");
  const addForm = el("form", {id: "staff-add", class: "record"},
    el("div", {class: "grid"},
      el("div", {class: "field"}, el("label", {for: "s-user"}, "Username"), el("input", {id: "s-user", name: "user", maxlength: 32, autocapitalize: "none"})),
      el("div", {class: "field"}, el("label", {for: "s-role"}, "Role"),
         el("select", {id: "s-role", name: "role"}, el("option", {value: "staff"}, "staff"), el("option", {value: "admin"}, "admin"))),
      el("div", {class: "field"}, el("label", {for: "s-pass"}, "Password (8 or more characters)"),
         el("input", {id: "s-pass", name: "password", type: "password", autocomplete: "new-password", maxlength: 128}))),
    el("div", {class: "actions"}, el("button", {type: "submit", class: "primary"}, "Add account")));
  view("Staff accounts",
    el("table", {id: "staff-table"}, el("thead", {}, el("tr", {}, el("th", {}, "Username"), el("th", {}, "Role"), el("th", {}, ""))),
      el("tbody", {}, ...r.rows.map(a => el("tr", {}, el("td", {}, a.user), el("td", {}, a.role + (a.disabled ? " (disabled)" : "")),
        el("td", {}, el("button", {type: "button", class: "small", onclick: async () => {
          const pw = prompt(`New password for ${a.user} (8 or more characters):`);
          if (!pw) return;
          try { await post("/api/staff/passwd", {user: a.user, password: pw}); flash(`New password set for ${a.user}; their sessions ended.`, "ok"); }
          catch (e) { showError(e); }
        }}, "Reset password")))))),
    el("h2", {}, "Add an account"), addForm);
  addForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try { await post("/api/staff/add", new FormData(addForm)); flash("Account added.", "ok"); route(); }
    catch (e) { showError(e); }
  });
}

// ---- frame ------------------------------------------------------------

function updateClock(w) {
  const b = $("#clock-warning");
  b.textContent = w ? "Clock warning: " + w : "";
  b.hidden = !w;
}

function updatePending(n) {
  const b = $("#nav-pending");
  b.textContent = n ? fmt(n) : "";
  b.hidden = !n;
}

async function route() {
  clearTimeout(syncTimer);
  const h = location.hash.replace(/^#/, "") || "/";
  const [path, qs] = h.split("?");
  const parts = path.split("/").filter(Boolean);
  const params = new URLSearchParams(qs || "");
  const page = parts[0] || "home";
  for (const a of $all("#nav a")) a.classList.toggle("here", a.dataset.nav === page ||
    (page === "person" && a.dataset.nav === "find") || ((page === "event" || page === "attendance") && a.dataset.nav === "events"));
  document.body.dataset.state = "loading";
  document.body.dataset.page = page;
  try {
    switch (page) {
    case "home": await pageHome(); break;
    case "register": await pagePerson(null); break;
    case "person": await pagePerson(parts[1]); break;
    case "find": await pageFind(params.get("q") || ""); break;
    case "events": await pageEvents(); break;
    case "event": await pageEvent(parts[1]); break;
    case "attendance": await pageAttendance(parts[1]); break;
    case "import": await pageImport(); break;
    case "export": await pageExport(); break;
    case "sync": await pageSync(); break;
    case "staff": await pageStaff(); break;
    default: view("Not found", el("p", {}, "There is no such page."));
    }
    document.body.dataset.state = "ready";
  } catch (e) {
    showError(e);
    document.body.dataset.state = "error";
  }
}

async function start() {
  try { ME = await get("/api/me"); }
  catch (e) { if (e.status !== 401) showError(e); return; }
  $("#who").textContent = `${ME.user} (${ME.role})`;
  $("#node-id").textContent = "node " + ME.node.slice(0, 8);
  for (const a of $all(".admin-only")) a.hidden = !ME.admin;
  updateClock(ME.clock_warning);
  updatePending(ME.pending);
  $("#signout").addEventListener("click", async () => {
    try { await post("/logout", {}); } catch (e) { /* signed out anyway */ }
    location.href = "/login";
  });
  window.addEventListener("hashchange", () => { clearFlash(); route(); });
  try {
    const places = await get("/api/places");
    $("#districts").replaceChildren(...(places.districts || []).map(d => el("option", {value: d})));
  } catch (e) { /* no places list: districts are typed */ }
  await route();
}

document.addEventListener("DOMContentLoaded", start);

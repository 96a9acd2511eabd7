/*
 * Rozgar Sync headquarters dashboard.
 *
 * Reads the JSON API of rozgar-server (/api/summary, /api/totals,
 * /api/centres) and draws it with Chart.js (served locally from Debian's
 * libjs-chart.js).  It never adds figures up itself: every number shown is
 * one the server's query layer returned; the page only turns counts into
 * display percentages.  Drill-down is province -> district -> centre; the
 * current view lives in the URL fragment so it can be bookmarked and the
 * back button works.
 *
 * Plain ES2017, no build step, no network beyond this server.
 */
(function () {
  "use strict";

  var PLACE_LEVELS = ["province", "district", "centre"];
  /* register_version (#register_version=N in the URL): places as the
   * enrollment register stood at version N (rozgar-server register). */
  /* from/to: an exact date range (YYYY-MM-DD, both ends counted), instead
   * of a period; the server answers it from its day index. */
  var FILTER_KEYS = ["period", "from", "to", "province", "district", "centre", "programme", "gender",
                     "age", "area", "skill", "register_version"];
  var VIEW_KEYS = FILTER_KEYS.concat(["trend"]);  /* in the URL, not sent as filters */
  var EVENT_KEYS = ["period", "from", "to", "province", "district", "centre", "programme",
                    "register_version"];
  var RANGE_DAYS = [7, 30, 90, 365];
  var STALE_DAYS = 7;
  var COLORS = ["#01411c", "#2e8b57", "#66b28a", "#a3d3b5", "#c49a2c", "#8c5e9c",
                "#3d7ea6", "#b5553c", "#6d6d6d", "#d4b26a", "#4f9d9d", "#9c3d54"];
  var GENDER_COLORS = { female: "#8c5e9c", male: "#3d7ea6", other: "#c49a2c", unknown: "#bdbdbd" };

  var state = {};
  var charts = {};
  var generation = 0;
  var numberFmt = new Intl.NumberFormat("en-US");

  function $(id) { return document.getElementById(id); }

  function fmt(n) { return n === null || n === undefined ? "n/a" : numberFmt.format(n); }

  function pct(x) {
    return x === null || x === undefined ? "n/a" : (Math.round(x * 1000) / 10).toFixed(1) + "%";
  }

  /* ---- state <-> URL fragment ---------------------------------------- */

  function readHash() {
    var params = new URLSearchParams(location.hash.replace(/^#/, ""));
    var s = {};
    VIEW_KEYS.forEach(function (k) { s[k] = params.get(k) || ""; });
    /* A deeper place without its parent cannot be shown in the crumbs. */
    if (!s.province) { s.district = ""; s.centre = ""; }
    if (!s.district) { s.centre = ""; }
    /* A range and a period cannot both hold (the API refuses it). */
    if ((s.from || s.to) && s.period) s.period = "";
    return s;
  }

  function writeHash(s) {
    var params = new URLSearchParams();
    VIEW_KEYS.forEach(function (k) { if (s[k]) params.set(k, s[k]); });
    var h = params.toString();
    if (("#" + h) !== location.hash && !(h === "" && location.hash === "")) {
      location.hash = h;  /* triggers hashchange -> render */
      return true;
    }
    return false;
  }

  function go(changes) {
    var s = Object.assign({}, state, changes);
    if (!writeHash(s)) render();
  }

  /* ---- date ranges ------------------------------------------------------ */

  /* Today in Pakistan (UTC+5), as the server dates figures. */
  function todayPK() {
    return new Date(Date.now() + 5 * 3600 * 1000).toISOString().slice(0, 10);
  }

  /* The day n-1 days before "YYYY-MM-DD": the first of the last n days. */
  function daysBefore(day, n) {
    var d = new Date(day + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() - (n - 1));
    return d.toISOString().slice(0, 10);
  }

  /* The "Days" choice the range of s is: "", one of RANGE_DAYS, "custom". */
  function daysChoice(s, today) {
    if (!s.from && !s.to) return "";
    for (var i = 0; i < RANGE_DAYS.length; i++)
      if (s.to === today && s.from === daysBefore(today, RANGE_DAYS[i])) return String(RANGE_DAYS[i]);
    return "custom";
  }

  /* "2026-01-01 – 2026-03-31", "from 2026-01-01", "to 2026-03-31", or "". */
  function rangeText(s) {
    if (s.from && s.to) return s.from + " – " + s.to;
    if (s.from) return "from " + s.from;
    if (s.to) return "to " + s.to;
    return "";
  }

  function placeLevel(s) {
    if (s.centre) return 3;
    if (s.district) return 2;
    if (s.province) return 1;
    return 0;
  }

  /* The dimension the place chart and table break down by at this level. */
  function breakdownDim(s) {
    var lvl = placeLevel(s);
    return lvl < PLACE_LEVELS.length ? PLACE_LEVELS[lvl] : "age";
  }

  /* ---- API ------------------------------------------------------------ */

  function query(path, params, keys) {
    var q = new URLSearchParams();
    Object.keys(params).forEach(function (k) { if (params[k]) q.set(k, params[k]); });
    (keys || FILTER_KEYS).forEach(function (k) { if (state[k]) q.set(k, state[k]); });
    var qs = q.toString();
    return path + (qs ? "?" + qs : "");
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" } }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (body) {
        if (!resp.ok) {
          var e = new Error((body && body.error) || ("HTTP " + resp.status + " for " + url));
          throw e;
        }
        return body;
      });
    });
  }

  /* ---- rendering helpers --------------------------------------------- */

  function clear(el) { while (el.firstChild) el.removeChild(el.firstChild); }

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    tr.appendChild(td);
    return td;
  }

  function asOfText(iso) {
    /* "2026-03-04T10:20:00+05:00" -> "2026-03-04 10:20 PKT" (server time zone). */
    if (!iso) return "unknown";
    return iso.slice(0, 10) + " " + iso.slice(11, 16) + " PKT";
  }

  /* An empty chart says so instead of showing bare axes. */
  function markEmpty(canvas, config) {
    var fig = canvas.closest("figure");
    var empty = !config.data.labels.length || config.data.datasets.every(function (d) {
      return d.data.every(function (v) { return !v; });
    });
    var note = fig.querySelector(".empty-note");
    if (!note) {
      note = document.createElement("p");
      note.className = "empty-note";
      note.textContent = "Nothing counted here yet.";
      fig.querySelector(".canvas-box").appendChild(note);
    }
    note.hidden = !empty;
    fig.classList.toggle("empty", empty);
  }

  function setChart(key, canvasId, config, summary) {
    var canvas = $(canvasId);
    markEmpty(canvas, config);
    canvas.setAttribute("aria-label", summary);
    canvas.dataset.points = String(config.data.labels.length);
    if (typeof Chart === "undefined") {
      canvas.dataset.rendered = "no-chartjs";
      return;
    }
    if (charts[key]) charts[key].destroy();
    charts[key] = new Chart(canvas.getContext("2d"), config);
    canvas.dataset.rendered = "1";
  }

  function describe(labels, values) {
    return labels.map(function (l, i) { return l + " " + fmt(values[i]); }).join(", ");
  }

  function barOptions(onPick) {
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
      onClick: onPick ? function (evt, elements, chart) {
        if (elements && elements.length) onPick(chart.data.labels[elements[0].index]);
      } : undefined,
      onHover: onPick ? function (evt, elements) {
        var t = evt.native && evt.native.target;
        if (t) t.style.cursor = elements && elements.length ? "pointer" : "default";
      } : undefined
    };
  }

  /* ---- sections ------------------------------------------------------- */

  /* The centres of the place being viewed (the whole list when national). */
  function centresHere(list) {
    return list.filter(function (c) {
      return (!state.province || c.province === state.province) &&
        (!state.district || c.district === state.district) &&
        (!state.centre || c.centre === state.centre);
    });
  }

  function renderBanner(body, centres) {
    var c = Object.assign({}, body.completeness || {});
    var b = $("banner");
    var where = state.centre || state.district || state.province;
    if (where && centres) {
      /* The banner speaks of the level being viewed: its own centres. */
      var here = centresHere(centres.centres).filter(function (x) { return x.nodes > 0; });
      c.centres = here.length;
      c.centres_stale = here.filter(function (x) { return x.stale; }).length;
      c.centres_synced = c.centres - c.centres_stale;
      c.nodes = here.reduce(function (n, x) { return n + x.nodes; }, 0);
      c.nodes_synced = c.nodes;  /* per PC detail is national only */
    }
    var synced = c.centres_synced, all = c.centres;
    var scope = where ? where + ": " : "Pakistan: ";
    var text = scope + "as of " + asOfText(body.as_of) + " — " + fmt(synced) + " of " + fmt(all) +
      (where ? " centres here" : " centres") + " synced in the last " + c.stale_days + " days" +
      (!where && c.newest_contact ? " (last contact " + asOfText(c.newest_contact) +
       (c.newest_sync ? ", last new data " + asOfText(c.newest_sync) : "") + ")" : "");
    if (!all) {
      text = scope + "as of " + asOfText(body.as_of) + " — no centre is enrolled " +
        (where ? "here." : "yet.");
      b.className = "banner partial";
    } else if (c.centres_stale > 0) {
      text += ". " + fmt(c.centres_stale) + (c.centres_stale === 1 ? " centre has" : " centres have") +
        " not: their latest records are not counted yet, so a low figure may be a silent centre, not a drop.";
      b.className = "banner partial";
    } else if (c.nodes_synced < c.nodes) {
      /* A centre counts as synced when any of its PCs did; say so when
       * another PC of it is silent, its records are missing too. */
      text += "; " + fmt(c.nodes - c.nodes_synced) + " of " + fmt(c.nodes) +
        " PCs have not, so some records may not be counted yet.";
      b.className = "banner partial";
    } else {
      text += ".";
      b.className = "banner";
    }
    /* How far the totals have counted (log-first ingest: an acknowledged
     * entry is counted shortly after, by the merger). */
    var k = body.counting;
    if (k && k.received > k.counted) {
      text += " Counted " + fmt(k.counted) + " of " + fmt(k.received) + " entries received" +
        (k.paused ? " (counting is paused)" : "") + "; the rest is not in these figures yet.";
      b.className = "banner partial";
    }
    if (k && k.last_merge) text += " Last merge " + asOfText(k.last_merge) + ".";
    if (body.register_version) {
      text += " Places as the register stood at version " + body.register_version +
        " (today's places: remove register_version from the address).";
      b.className = "banner partial";
    }
    b.textContent = text;
    b.dataset.centres = String(all);
    b.dataset.synced = String(synced);
  }

  function renderSummary(sum) {
    $("kpi-registered").textContent = fmt(sum.registered);
    $("kpi-trainees").textContent = fmt(sum.trainees);
    $("kpi-attendances").textContent = fmt(sum.attendances);
    $("kpi-events").textContent = fmt(sum.events);
    $("kpi-women").textContent = pct(sum.registered ? sum.women_share : null);
    $("kpi-youth").textContent = pct(sum.registered ? sum.youth_share : null);
    $("kpi-rural").textContent = pct(sum.registered && sum.rural_share !== undefined ? sum.rural_share : null);
    if (sum.events === null) $("kpi-events").title = "events have no gender or age";

    var t = sum.target || {};
    var progress = Math.max(0, Math.min(1, t.progress || 0));
    $("target-label").textContent = "National target: people trained in " + t.year;
    var shown = t.progress > 0 && t.progress < 0.001 ? "under 0.1%" : pct(t.progress);
    $("target-text").textContent = fmt(t.value) + " of " + fmt(t.goal) + " (" + shown + ")";
    $("target-fill").style.width = (progress * 100).toFixed(1) + "%";
    $("target-bar").setAttribute("aria-valuenow", (progress * 100).toFixed(1));
  }

  function renderCrumbs() {
    var nav = $("crumbs");
    clear(nav);
    var parts = [{ label: "Pakistan", changes: { province: "", district: "", centre: "" } }];
    if (state.province) parts.push({ label: state.province, changes: { district: "", centre: "" } });
    if (state.district) parts.push({ label: state.district, changes: { centre: "" } });
    if (state.centre) parts.push({ label: state.centre, changes: {} });
    parts.forEach(function (p, i) {
      if (i) {
        var sep = document.createElement("span");
        sep.className = "sep";
        sep.textContent = "›";
        nav.appendChild(sep);
      }
      if (i === parts.length - 1) {
        var here = document.createElement("span");
        here.className = "here";
        here.textContent = p.label;
        nav.appendChild(here);
      } else {
        var a = document.createElement("a");
        a.href = "#";
        a.textContent = p.label;
        a.addEventListener("click", function (e) { e.preventDefault(); go(p.changes); });
        nav.appendChild(a);
      }
    });
  }

  function drillTo(dim, label) {
    if (PLACE_LEVELS.indexOf(dim) < 0 || !label) return;
    var ch = {};
    ch[dim] = label;
    go(ch);
  }

  function renderPlace(dim, reg, trained, centres) {
    /* Places with centres but nothing counted yet are listed as 0: a
     * missing row would read as "no such district". */
    if (PLACE_LEVELS.indexOf(dim) >= 0 && centres) {
      var seen = {};
      reg.rows.forEach(function (r) { seen[r[dim]] = true; });
      var extra = [];
      centresHere(centres.centres).forEach(function (c) {
        var name = dim === "centre" ? c.centre : c[dim];
        if (name && !seen[name]) { seen[name] = true; extra.push({ count: 0 }); extra[extra.length - 1][dim] = name; }
      });
      extra.sort(function (a, b) { return a[dim] < b[dim] ? -1 : 1; });
      reg = Object.assign({}, reg, { rows: reg.rows.concat(extra) });
    }
    var labels = reg.rows.map(function (r) { return r[dim]; });
    var values = reg.rows.map(function (r) { return r.count; });
    var name = { province: "province", district: "district", centre: "centre", age: "age band" }[dim];
    var where = state.centre || state.district || state.province || "Pakistan";
    $("cap-place").textContent = "Registrations by " + name + " — " + where;
    var drillable = PLACE_LEVELS.indexOf(dim) >= 0;
    setChart("place", "chart-place", {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "Registered", data: values, backgroundColor: COLORS[0] }] },
      options: barOptions(drillable ? function (label) { drillTo(dim, label); } : null)
    }, "Registrations by " + name + ": " + describe(labels, values));
    document.querySelector("#chart-place").closest("figure").querySelector(".hint").hidden = !drillable;

    var trainedBy = {};
    (trained ? trained.rows : []).forEach(function (r) { trainedBy[r[dim]] = r.count; });
    $("place-title").textContent = (name.charAt(0).toUpperCase() + name.slice(1)) + "s — " + where;
    $("place-col").textContent = name.charAt(0).toUpperCase() + name.slice(1);
    var tbody = $("place-table").querySelector("tbody");
    clear(tbody);
    reg.rows.forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, r[dim]);
      cell(tr, fmt(r.count), "num");
      cell(tr, trained ? fmt(trainedBy[r[dim]] || 0) : "n/a", "num");
      cell(tr, reg.total ? pct(r.count / reg.total) : "–", "num");
      if (drillable) {
        tr.className = "drill";
        tr.tabIndex = 0;
        tr.addEventListener("click", function () { drillTo(dim, r[dim]); });
        tr.addEventListener("keydown", function (e) { if (e.key === "Enter") drillTo(dim, r[dim]); });
      }
      tbody.appendChild(tr);
    });
    if (!reg.rows.length) {
      var tr = document.createElement("tr");
      cell(tr, "No registrations counted here yet.").colSpan = 4;
      tbody.appendChild(tr);
    }
    /* Unique trainees do not add up across places: say so, with the total. */
    var note = $("place-note");
    note.hidden = !(trained && trained.rows_add_up === false);
    note.textContent = note.hidden ? "" : "Trained counts unique persons per " + name +
      ": someone trained in two places is in both rows, so the column adds up to more than the " +
      fmt(trained.total) + " people trained in " + where + ".";
  }

  /* Months from first to last inclusive, "YYYY-MM". */
  function monthSpan(first, last) {
    var out = [];
    var y = +first.slice(0, 4), m = +first.slice(5, 7);
    var ly = +last.slice(0, 4), lm = +last.slice(5, 7);
    while ((y < ly || (y === ly && m <= lm)) && out.length < 1200) {
      out.push(y + "-" + (m < 10 ? "0" : "") + m);
      if (++m > 12) { m = 1; y++; }
    }
    return out;
  }

  /* The x axis: every month of the chosen year up to this month, or every
   * month from the first to the last on record in ANY of the series (a month
   * with training but no registration is still a month).  The API leaves
   * out months where nothing was counted; on a line those must show as 0,
   * not vanish.  period: the year viewed ("" for all time); series: arrays
   * of API rows; thisMonth: "YYYY-MM" of the viewer's clock. */
  function monthAxis(period, series, thisMonth) {
    var months = [];
    series.forEach(function (rows) {
      (rows || []).forEach(function (r) {
        if (/^\d{4}-\d{2}$/.test(r.period)) months.push(r.period);
      });
    });
    months.sort();
    var last = months.length ? months[months.length - 1] : "";
    if (/^\d{4}$/.test(period)) {
      /* This year: up to this month (or the last month with data, should
       * this browser's clock be behind the server's). */
      var end = thisMonth.slice(0, 4) === period ? thisMonth : period + "-12";
      if (last > end) end = last;
      return monthSpan(period + "-01", end);
    }
    if (!months.length) return [];
    return monthSpan(months[0], last);
  }

  function currentMonth() {
    var now = new Date();
    return now.getFullYear() + "-" + (now.getMonth() < 9 ? "0" : "") + (now.getMonth() + 1);
  }

  function priorYearMonth(p) {
    return (+p.slice(0, 4) - 1) + p.slice(4);
  }

  function renderMonths(reg, trained, allMonths) {
    var unknown = reg.rows.filter(function (r) { return r.period === "unknown"; });
    var labels = monthAxis(state.period || "", [reg.rows, trained ? trained.rows : []],
                           currentMonth());
    var regBy = {}, trainedBy = {};
    reg.rows.forEach(function (r) { regBy[r.period] = r.count; });
    (trained ? trained.rows : []).forEach(function (r) { trainedBy[r.period] = r.count; });
    var regValues = labels.map(function (p) { return regBy[p] || 0; });
    var datasets = [{ label: "Registered", data: regValues, borderColor: COLORS[0],
                      backgroundColor: COLORS[0], tension: 0 }];
    var hint = "";
    if (state.trend === "cumulative") {
      /* Registrations add up over months (each person once, at
       * registration); trainees do not (one person trains in many
       * months), so the trained line is left out here. */
      var run = 0;
      datasets[0].label = "Registered, cumulative";
      datasets[0].data = regValues.map(function (v) { run += v; return run; });
      trained = null;
      hint = "Cumulative registrations from the first month shown. Trained people are not summed over months: one person can train in several.";
    } else if (state.trend === "yoy") {
      var before = {};
      (allMonths ? allMonths.rows : []).forEach(function (r) { before[r.period] = r.count; });
      datasets[0].label = "Registered";
      datasets.push({ label: "Registered a year before", borderDash: [6, 4], tension: 0,
                      data: labels.map(function (p) { return before[priorYearMonth(p)] || 0; }),
                      borderColor: COLORS[6], backgroundColor: COLORS[6] });
      trained = null;
      hint = "Each month against the same month one year earlier.";
    }
    $("hint-month").textContent = hint;
    $("hint-month").hidden = !hint;
    if (trained) {
      datasets.push({ label: "Trained", data: labels.map(function (p) { return trainedBy[p] || 0; }),
                      borderColor: COLORS[4], backgroundColor: COLORS[4], tension: 0 });
    }
    var cap = "Registered and trained by month" + (state.period ? " — " + state.period
      : rangeText(state) ? " — " + rangeText(state) : "");
    if (unknown.length && unknown[0].count) cap += " (" + fmt(unknown[0].count) + " with no valid date)";
    if (trained && trained.rows_add_up === false)
      cap += "; trained counts each person once per month, " + fmt(trained.total) +
        " people in all (months do not add up)";
    $("cap-month").textContent = cap;
    setChart("month", "chart-month", {
      type: "line",
      data: { labels: labels, datasets: datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } }
    }, "Registrations by month: " + describe(labels, regValues));
  }

  function renderGender(reg) {
    var labels = reg.rows.map(function (r) { return r.gender; });
    var values = reg.rows.map(function (r) { return r.count; });
    setChart("gender", "chart-gender", {
      type: "doughnut",
      data: { labels: labels, datasets: [{ data: values,
        backgroundColor: labels.map(function (l, i) { return GENDER_COLORS[l] || COLORS[i % COLORS.length]; }) }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { legend: { position: "right" } } }
    }, "Registrations by gender: " + describe(labels, values));
  }

  function renderShareChart(key, dim, body) {
    var labels = body.rows.map(function (r) { return r[dim]; });
    var values = body.rows.map(function (r) { return r.count; });
    setChart(key, "chart-" + key, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "Registered", data: values,
        backgroundColor: labels.map(function (l, i) { return COLORS[(i + 2) % COLORS.length]; }) }] },
      options: Object.assign(barOptions(null), { indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } })
    }, "Registrations by " + dim + ": " + describe(labels, values));
  }

  function renderKinds(ev) {
    /* Events have no gender or age: say so rather than look filtered. */
    $("cap-kind").textContent = "Events by kind" +
      (state.gender || state.age ? " (all attendees: events have no gender or age)" : "");
    var labels = ev.rows.map(function (r) { return r.kind; });
    var values = ev.rows.map(function (r) { return r.count; });
    setChart("kind", "chart-kind", {
      type: "bar",
      data: { labels: labels, datasets: [{ label: "Events", data: values, backgroundColor: COLORS[1] }] },
      options: Object.assign(barOptions(null), { indexAxis: "y",
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } })
    }, "Events by kind: " + describe(labels, values));
  }

  function centreState(c) {
    if (c.state === "revoked") return "revoked";
    if (c.state === "forked") return "forked: waiting for headquarters";
    if (c.state === "never" || !c.last_contact) return "never synced";
    var days = Math.floor(c.contact_lag_seconds / 86400);
    if (c.state === "silent") return "silent for " + days + (days === 1 ? " day" : " days");
    if (c.state === "counting" && c.counting) {
      return "received, " + fmt(c.counting.received - c.counting.counted) + " not yet counted";
    }
    return "ok";
  }

  function renderCentres(body) {
    $("stale-days").textContent = String(body.stale_days);
    var tbody = $("centres-table").querySelector("tbody");
    clear(tbody);
    /* Every centre of the place being viewed, stalest first. */
    var rows = centresHere(body.centres);
    rows.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.className = c.state === "never" || c.state === "forked" ? "never"
        : c.state === "silent" || c.state === "counting" ? "silent"
        : c.state === "revoked" ? "revoked" : "";
      tr.dataset.state = c.state || "";
      cell(tr, c.centre);
      cell(tr, c.province);
      cell(tr, c.district);
      cell(tr, c.last_contact ? asOfText(c.last_contact) +
           (c.last_sync ? " (new data " + asOfText(c.last_sync) + ")" : " (no data yet)") : "never");
      cell(tr, centreState(c), "state");
      tbody.appendChild(tr);
    });
    var place = state.centre || state.district || state.province;
    $("centres-title").firstChild.textContent = "Centres and their reporting state" +
      (place ? " — " + place + " " : " ");
    $("centres-none").hidden = rows.length > 0;
    $("centres-table").hidden = rows.length === 0;
  }

  /* "FY2025-26": Pakistan's fiscal year, 1 July 2025 to 30 June 2026. */
  function fiscalName(startYear) {
    return "FY" + startYear + "-" + String((startYear + 1) % 100).padStart(2, "0");
  }

  function fillYears(yearsBody) {
    var sel = $("f-year");
    var years = yearsBody.rows.filter(function (r) { return /^\d{4}$/.test(r.period); })
      .map(function (r) { return r.period; });
    var nowDate = new Date();
    var now = String(nowDate.getFullYear());
    if (years.indexOf(now) < 0) years.push(now);
    if (/^\d{4}$/.test(state.period) && years.indexOf(state.period) < 0) years.push(state.period);
    years.sort().reverse();
    /* The fiscal years around every calendar year on record, up to the
     * one running now (it starts in July). */
    var lastStart = nowDate.getFullYear() - (nowDate.getMonth() < 6 ? 1 : 0);
    var fiscal = [];
    years.forEach(function (y) {
      [+y - 1, +y].forEach(function (f) {
        var name = fiscalName(f);
        if (f <= lastStart && fiscal.indexOf(name) < 0) fiscal.push(name);
      });
    });
    if (/^FY/.test(state.period) && fiscal.indexOf(state.period) < 0) fiscal.push(state.period);
    fiscal.sort().reverse();
    clear(sel);
    var all = document.createElement("option");
    all.value = "";
    all.textContent = "all years";
    sel.appendChild(all);
    [["Calendar years", years], ["Fiscal years (July–June)", fiscal]].forEach(function (g) {
      var group = document.createElement("optgroup");
      group.label = g[0];
      g[1].forEach(function (y) {
        var o = document.createElement("option");
        o.value = y;
        o.textContent = y;
        group.appendChild(o);
      });
      sel.appendChild(group);
    });
    sel.value = state.period;
  }

  function syncFilterInputs() {
    $("f-programme").value = state.programme;
    $("f-gender").value = state.gender;
    $("f-age").value = state.age;
    $("f-area").value = state.area;
    $("f-skill").value = state.skill;
    $("f-trend").value = state.trend;
    var days = daysChoice(state, todayPK());
    $("f-days").value = days;
    $("f-from").value = state.from;
    $("f-to").value = state.to;
    $("f-dates").hidden = days !== "custom";
    if (state.from || state.to) $("f-year").value = "";
  }

  /* ---- main ----------------------------------------------------------- */

  function render() {
    var gen = ++generation;
    state = readHash();
    syncFilterInputs();
    renderCrumbs();
    document.body.dataset.state = "loading";
    $("error").hidden = true;

    var dim = breakdownDim(state);
    /* Every month of the chosen year, or every month on record. */
    var monthParams = state.period ? { grain: "month", period: state.period } : { grain: "month" };
    $("csv").href = query("/api/totals.csv", { metric: "registered", by: dim });
    $("csv-place").href = $("csv").href;
    $("csv-month").href = query("/api/totals.csv", Object.assign({ metric: "registered" }, monthParams));
    $("csv-gender").href = query("/api/totals.csv", { metric: "registered", by: "gender" });
    $("csv-area").href = query("/api/totals.csv", { metric: "registered", by: "area" });
    $("csv-skill").href = query("/api/totals.csv", { metric: "registered", by: "skill" });
    $("csv-kind").href = query("/api/totals.csv", { metric: "events", by: "kind" }, EVENT_KEYS);
    $("csv-centres").href = "/api/centres.csv?stale_days=" + STALE_DAYS;

    var requests = [
      getJSON(query("/api/summary", { stale_days: STALE_DAYS })),
      getJSON(query("/api/totals", { metric: "registered", by: dim })),
      getJSON(query("/api/totals", { metric: "trainees", by: dim })).catch(function () { return null; }),
      getJSON(query("/api/totals", Object.assign({ metric: "registered" }, monthParams))),
      getJSON(query("/api/totals", Object.assign({ metric: "trainees" }, monthParams))).catch(function () { return null; }),
      getJSON(query("/api/totals", { metric: "registered", by: "gender" })),
      getJSON(query("/api/totals", { metric: "events", by: "kind" }, EVENT_KEYS)),
      getJSON(query("/api/centres", { stale_days: STALE_DAYS }, [])),
      getJSON(query("/api/totals", { metric: "registered", grain: "year" }, [])).catch(function () { return { rows: [] }; }),
      getJSON(query("/api/totals", { metric: "registered", by: "area" })),
      getJSON(query("/api/totals", { metric: "registered", by: "skill" })),
      state.trend === "yoy"
        ? getJSON(query("/api/totals", { metric: "registered", grain: "month" },
                        FILTER_KEYS.filter(function (k) { return ["period", "from", "to"].indexOf(k) < 0; })))
        : Promise.resolve(null)
    ];
    Promise.all(requests).then(function (res) {
      if (gen !== generation) return;  /* a newer view is on its way */
      renderSummary(res[0]);
      renderBanner(res[0], res[7]);
      renderPlace(dim, res[1], res[2], res[7]);
      renderMonths(res[3], res[4], res[11]);
      renderGender(res[5]);
      renderKinds(res[6]);
      renderCentres(res[7]);
      fillYears(res[8]);
      renderShareChart("area", "area", res[9]);
      renderShareChart("skill", "skill", res[10]);
      /* For the layout check: the page must fit the window (a phone). */
      document.body.dataset.scrollWidth = String(document.documentElement.scrollWidth);
      document.body.dataset.innerWidth = String(window.innerWidth);
      document.body.dataset.state = "ready";
    }).catch(function (e) {
      if (gen !== generation) return;
      var box = $("error");
      box.textContent = "Could not load figures: " + e.message;
      box.hidden = false;
      document.body.dataset.state = "error";
    });
  }

  function onFilterChange(e) {
    var ch = {}, name = e.target.name, v = e.target.value;
    if (name === "year") {
      ch = { period: v, from: "", to: "" };
    } else if (name === "days") {
      var today = todayPK();
      if (v === "") ch = { from: "", to: "" };
      else if (v === "custom") {
        /* Start from what is shown: the range so far, else the last 30 days. */
        $("f-dates").hidden = false;
        ch = { period: "", from: state.from || daysBefore(today, 30), to: state.to || today };
      } else ch = { period: "", from: daysBefore(today, +v), to: today };
    } else if (name === "from" || name === "to") {
      ch = { period: "" };
      ch[name] = v;
    } else {
      ch[name] = v;
    }
    go(ch);
  }

  /* Pure helpers, for tests run with node (tests/web/); no DOM there. */
  if (typeof module === "object" && module.exports) {
    module.exports = { monthAxis: monthAxis, monthSpan: monthSpan, daysBefore: daysBefore,
                       daysChoice: daysChoice, rangeText: rangeText };
    return;
  }

  /* ---- places as at an earlier register version ---------------------- */

  /* The "Places as at" choice: today, or a version of the enrollment
   * register that placed a centre (its breakdowns reproduced exactly). */
  function loadRegister() {
    getJSON("/api/register").then(function (reg) {
      var sel = $("f-register");
      reg.versions.forEach(function (v, i) {
        if (i === 0 && v.version === reg.newest) return;  /* that is today */
        var o = document.createElement("option");
        o.value = String(v.version);
        o.textContent = "version " + v.version + " (" + v.at.slice(0, 10) + ", " + v.action + " " +
          v.centre + ")";
        sel.appendChild(o);
      });
      sel.value = state.register_version || "";
    }).catch(function () {});
  }

  /* ---- administration (administrators only) --------------------------- */

  function fillRows(id, rows, cols) {
    var tb = $(id).querySelector("tbody");
    clear(tb);
    rows.forEach(function (r) {
      var tr = document.createElement("tr");
      cols.forEach(function (c) { cell(tr, typeof c === "function" ? c(r) : (r[c] === null ? "–" : String(r[c]))); });
      tb.appendChild(tr);
    });
  }

  function adminError(e) {
    var note = $("admin-lookup-note");
    note.textContent = "Could not load the administration lists: " + e.message;
    note.hidden = false;
  }

  function loadAdmin() {
    getJSON("/api/admin/accounts").then(function (a) {
      fillRows("admin-accounts", a.accounts, ["name", "role",
        function (r) { return r.disabled ? "disabled" : "enabled"; },
        function (r) { return r.password_changed ? asOfText(r.password_changed) : "–"; }]);
    }).catch(adminError);
    getJSON("/api/admin/tokens").then(function (t) {
      fillRows("admin-tokens", t.tokens, ["name",
        function (r) { return asOfText(r.created); },
        function (r) { return r.revoked ? asOfText(r.revoked) : "–"; }]);
    }).catch(adminError);
    getJSON("/api/admin/lawful").then(function (l) {
      fillRows("admin-lawful", l.lawful, [function (r) { return asOfText(r.at); },
        "kind", "by", "subject", "outcome"]);
    }).catch(adminError);
  }

  function onLookup(ev) {
    ev.preventDefault();
    var note = $("admin-lookup-note");
    getJSON("/api/admin/person?cnic=" + encodeURIComponent($("admin-cnic").value.trim()))
      .then(function (r) {
        fillRows("admin-persons", r.persons, ["person_id", "centre", "reg_date",
          function (p) { return p.deleted ? "yes" : "no"; }]);
        $("admin-persons").hidden = r.persons.length === 0;
        note.textContent = r.persons.length + " record" + (r.persons.length === 1 ? "" : "s") +
          " with CNIC " + r.cnic + ".";
        note.hidden = false;
        loadAdmin();  /* the lookup is in the register now */
      }).catch(function (e) { note.textContent = e.message; note.hidden = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof Chart !== "undefined") {
      Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
      Chart.defaults.animation = false;
    } else {
      $("nochart").hidden = false;
    }
    ["f-year", "f-days", "f-from", "f-to", "f-programme", "f-gender", "f-age", "f-area", "f-skill",
     "f-trend"].forEach(function (id) {
      $(id).addEventListener("change", onFilterChange);
    });
    $("f-register").addEventListener("change", onFilterChange);
    window.addEventListener("hashchange", function () { $("f-register").value = readHash().register_version || ""; });
    loadRegister();
    /* Signed in (HTTPS view): say who, offer to sign out. */
    getJSON("/api/whoami").then(function (w) {
      if (!w.signin || w.token) return;
      $("whoami").textContent = "Signed in as " + w.user + (w.admin ? " (administrator)" : "");
      $("signout").hidden = false;
      /* Administration is for administrators only; analysts never see it. */
      if (w.admin === true) {
        $("admin").hidden = false;
        $("admin-lookup").addEventListener("submit", onLookup);
        loadAdmin();
      }
    }).catch(function () {});
    window.addEventListener("hashchange", render);
    render();
  });
})();

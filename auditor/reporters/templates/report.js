/* imgaudit report: renders one page of the findings table at a time from the JSON blob.
   Cloud strings are only ever written with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("data").textContent);
  var S = D.strings, SEV = D.severities, L = D.labels;
  var SEVNAME = L.severities || SEV, STATUS = L.status || ["open", "waived", "waiver expired"];
  var BASE = L.baseline || ["", "new", "unchanged"];
  // a label of the report's language: "{name}" placeholders filled from `values`
  function T(key, values) {
    return String(L[key]).replace(/[{](\w+)[}]/g, function (m, name) { return String(values[name]); });
  }
  var str = function (i) { return i < 0 ? "" : S[i]; };
  var $ = function (id) { return document.getElementById(id); };
  // each row is an array; its columns are named in D.columns (html_data.py declares them)
  function columns(names) {
    var c = {};
    names.forEach(function (name, i) { c[name] = i; });
    return c;
  }
  var FC = columns(D.columns.finding), IC = columns(D.columns.image),
      EC = columns(D.columns.evidence), WC = columns(D.columns.waiver);
  var F = D.findings, IMG = D.images, RULES = D.rules;
  var state = { sevs: {}, rule: -1, region: -1, owner: -1, account: -1, tag: -1, status: -1, baseline: -1,
                text: "", sort: "sev", dir: 1, page: 0, size: 100 };
  SEV.forEach(function (s, i) { state.sevs[i] = true; });
  var haystack = null, view = [];

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = text;
    if (cls) e.className = cls;
    return e;
  }
  function sevBadge(i) { return el("span", SEVNAME[i], "sev sev-" + SEV[i]); }
  function statusTag(f) {
    var cls = ["tag", "tag waived", "tag expired"][f[FC.status]];
    return el("span", STATUS[f[FC.status]], cls);
  }
  function img(f) { return IMG[f[FC.image]]; }
  // an account's label (a scan of several accounts), else ""
  function account(im) {
    var a = im[IC.account];
    return D.accounts && a >= 0 ? D.accounts[S[a]] || S[a] : "";
  }
  // with --group-by-tag: the image's value of the tag (a string index), UNTAGGED without it
  var UNTAGGED = -2;
  function tagOf(im) { return im[IC.tag] < 0 ? UNTAGGED : im[IC.tag]; }
  function where(im) { var a = account(im); return a ? a + "/" + str(im[IC.region]) : str(im[IC.region]); }
  function arn(im) {
    if (im[IC.arn] !== D.arn_from_account) return str(im[IC.arn]);
    return "acs:ecs:" + S[im[IC.region]] + ":" + D.account + ":image/" + S[im[IC.id]];
  }

  function fillSelect(id, values) {
    var sel = $(id);
    values.forEach(function (v) {
      var o = el("option", v[1]); o.value = String(v[0]); sel.appendChild(o);
    });
  }
  function distinct(col) {
    var seen = {}, out = [];
    IMG.forEach(function (im) {
      var k = im[col];
      if (k >= 0 && !seen[k]) { seen[k] = true; out.push([k, S[k]]); }
    });
    return out.sort(function (a, b) { return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0; });
  }

  function buildHaystack() {
    haystack = F.map(function (f) {
      var im = img(f), r = RULES[f[FC.rule]];
      return [str(im[IC.id]), str(im[IC.name]), str(f[FC.message]), r.id, r.title].join("\n").toLowerCase();
    });
  }

  function matches(f, i) {
    if (!state.sevs[f[FC.severity]]) return false;
    if (state.rule >= 0 && f[FC.rule] !== state.rule) return false;
    var im = img(f);
    if (state.region >= 0 && im[IC.region] !== state.region) return false;
    if (state.owner >= 0 && im[IC.owner_alias] !== state.owner) return false;
    if (state.account >= 0 && im[IC.account] !== state.account) return false;
    if (state.tag !== -1 && tagOf(im) !== state.tag) return false;
    if (state.status >= 0 && f[FC.status] !== state.status) return false;
    if (state.baseline >= 0 && f[FC.baseline] !== state.baseline) return false;
    if (state.text) {
      if (!haystack) buildHaystack();
      if (haystack[i].indexOf(state.text) < 0) return false;
    }
    return true;
  }

  var KEYS = {
    sev: function (f) { return f[FC.severity]; },
    rule: function (f) { return RULES[f[FC.rule]].id; },
    image: function (f) { return str(img(f)[IC.id]); },
    region: function (f) { return where(img(f)); },
    owner: function (f) { return str(img(f)[IC.owner_alias]); },
    message: function (f) { return str(f[FC.message]); },
    status: function (f) { return f[FC.status]; },
    baseline: function (f) { return f[FC.baseline]; },
    age: function (f) { return f[FC.age]; }
  };

  function recompute() {
    view = [];
    for (var i = 0; i < F.length; i++) if (matches(F[i], i)) view.push(i);
    var key = KEYS[state.sort], dir = state.dir;
    var keys = new Array(F.length);
    view.forEach(function (i) { keys[i] = key(F[i]); });
    view.sort(function (a, b) {
      var x = keys[a], y = keys[b];
      if (x < y) return -dir;
      if (x > y) return dir;
      return F[a][FC.severity] - F[b][FC.severity] || a - b;
    });
    state.page = 0;
    draw();
  }

  function row(i) {
    var f = F[i], im = img(f), tr = el("tr");
    tr.dataset.index = String(i);
    var c = el("td"); c.appendChild(sevBadge(f[FC.severity])); tr.appendChild(c);
    c = el("td"); c.appendChild(el("code", RULES[f[FC.rule]].id)); c.title = RULES[f[FC.rule]].title; tr.appendChild(c);
    c = el("td"); c.appendChild(el("code", str(im[IC.id])));
    if (im[IC.name] >= 0) c.appendChild(el("span", str(im[IC.name]), "img-name"));
    tr.appendChild(c);
    tr.appendChild(el("td", where(im), "nowrap"));
    tr.appendChild(el("td", str(im[IC.owner_alias]), "nowrap"));
    tr.appendChild(el("td", str(f[FC.message]), "msg"));
    c = el("td"); c.appendChild(statusTag(f)); tr.appendChild(c);
    if (D.baseline) {
      c = el("td"); if (f[FC.baseline]) c.appendChild(el("span", BASE[f[FC.baseline]], f[FC.baseline] === 1 ? "tag new" : "tag"));
      tr.appendChild(c);
    }
    if (D.history) tr.appendChild(firstSeen(f, "nowrap"));
    return tr;
  }
  // "2026-11-02 (run 3)" and the age in days, for a finding a history has seen
  function firstSeen(f, cls) {
    var c = el("td", null, cls);
    if (f[FC.age] >= 0) {
      c.appendChild(el("span", T("age", { age: f[FC.age] }), "age"));
      c.appendChild(el("span", T("first_seen", { date: str(f[FC.first_seen]), run: f[FC.first_seen_run] }), "img-name"));
    }
    return c;
  }

  function draw() {
    var pages = Math.max(1, Math.ceil(view.length / state.size));
    if (state.page >= pages) state.page = pages - 1;
    var start = state.page * state.size, end = Math.min(view.length, start + state.size);
    var body = $("rows"), frag = document.createDocumentFragment();
    for (var k = start; k < end; k++) frag.appendChild(row(view[k]));
    body.replaceChildren(frag);
    $("shown").textContent = T("shown", { shown: view.length, total: F.length });
    $("p-info").textContent = view.length ? T("rows", { first: start + 1, last: end,
      page: state.page + 1, pages: pages }) : T("no_match", {});
    document.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.setAttribute("aria-sort", th.dataset.sort === state.sort ?
        (state.dir > 0 ? "ascending" : "descending") : "none");
    });
  }

  function evidenceTable(f) {
    var t = el("table"), head = el("tr");
    [T("field", {}), T("actual", {}), T("expected", {})].forEach(function (h) { head.appendChild(el("th", h)); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    f[FC.evidence].forEach(function (e) {
      var tr = el("tr");
      var c = el("td"); c.appendChild(el("code", str(e[EC.path]))); tr.appendChild(c);
      c = el("td"); c.appendChild(el("code", str(e[EC.actual]))); tr.appendChild(c);
      tr.appendChild(el("td", str(e[EC.expected])));
      body.appendChild(tr);
    });
    return t;
  }

  function findingCard(f) {
    var r = RULES[f[FC.rule]], box = el("div", null, "finding"), h = el("h3");
    h.appendChild(sevBadge(f[FC.severity])); h.appendChild(el("code", r.id)); h.appendChild(el("span", r.title));
    h.appendChild(statusTag(f));
    if (D.baseline && f[FC.baseline]) h.appendChild(el("span", BASE[f[FC.baseline]], f[FC.baseline] === 1 ? "tag new" : "tag"));
    box.appendChild(h);
    if (f[FC.age] >= 0) box.appendChild(el("p", T("first_seen", { date: str(f[FC.first_seen]),
      run: f[FC.first_seen_run] }) + " · " + T("age", { age: f[FC.age] }), "muted"));
    box.appendChild(el("p", str(f[FC.message])));
    if (f[FC.evidence].length) box.appendChild(evidenceTable(f));
    if (f[FC.waiver] >= 0) {
      var w = D.waivers[f[FC.waiver]];
      box.appendChild(el("p", T(w[WC.expired] ? "waiver_expired" : "waived_until",
        { expires: w[WC.expires], owner: w[WC.owner], reason: w[WC.reason] }), w[WC.expired] ? "bad" : "muted"));
    }
    if (r.description) box.appendChild(el("p", r.description, "muted"));
    if (r.remediation) {
      var p = el("p"); p.appendChild(el("b", T("remediation", {}))); p.appendChild(document.createTextNode(r.remediation));
      box.appendChild(p);
    }
    (r.references || []).forEach(function (ref) {
      var p = el("p"), isUrl = /^https?:[/][/]/.test(ref);
      var a = el(isUrl ? "a" : "span", ref);
      if (isUrl) { a.href = ref; a.rel = "noopener noreferrer"; a.target = "_blank"; }
      p.appendChild(a); box.appendChild(p);
    });
    return box;
  }

  function showImage(imageIndex) {
    var im = IMG[imageIndex];
    $("d-title").textContent = T("image", { id: str(im[IC.id]) });
    var meta = $("d-meta"); meta.replaceChildren();
    [[T("name", {}), str(im[IC.name])], [T("account", {}), account(im)],
     [T("region", {}), str(im[IC.region])], [T("owner", {}), str(im[IC.owner_alias])],
     [D.group_tag, str(im[IC.tag])],
     ["ARN", arn(im)]]
      .forEach(function (kv) {
        if (!kv[1]) return;
        meta.appendChild(el("dt", kv[0])); meta.appendChild(el("dd", kv[1]));
      });
    var list = $("d-findings"); list.replaceChildren();
    F.filter(function (f) { return f[FC.image] === imageIndex; })
      .sort(function (a, b) { return a[FC.severity] - b[FC.severity]; })
      .forEach(function (f) { list.appendChild(findingCard(f)); });
    $("detail").hidden = false;
  }

  function num(v) { return v === "" ? -1 : Number(v); }
  function bind() {
    fillSelect("f-rule", RULES.map(function (r, i) { return [i, r.id + " · " + r.title]; }));
    fillSelect("f-region", distinct(IC.region));
    fillSelect("f-owner", distinct(IC.owner_alias));
    if ($("f-tag")) fillSelect("f-tag", distinct(IC.tag));
    if ($("f-account")) {
      fillSelect("f-account", distinct(IC.account).map(function (v) { return [v[0], D.accounts[v[1]] || v[1]]; }));
    }
    document.querySelectorAll("input[name=severity]").forEach(function (box) {
      box.addEventListener("change", function () {
        state.sevs[SEV.indexOf(box.value)] = box.checked; recompute();
      });
    });
    [["f-rule", "rule"], ["f-region", "region"], ["f-owner", "owner"], ["f-account", "account"],
     ["f-tag", "tag"], ["f-status", "status"], ["f-baseline", "baseline"]].forEach(function (p) {
      var sel = $(p[0]);
      if (sel) sel.addEventListener("change", function () { state[p[1]] = num(sel.value); recompute(); });
    });
    var timer = null;
    $("f-text").addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { state.text = $("f-text").value.trim().toLowerCase(); recompute(); }, 150);
    });
    $("f-reset").addEventListener("click", reset);
    $("filters").addEventListener("submit", function (ev) { ev.preventDefault(); });
    document.querySelectorAll("th[data-sort]").forEach(function (th) {
      th.addEventListener("click", function () {
        if (state.sort === th.dataset.sort) state.dir = -state.dir;
        else { state.sort = th.dataset.sort; state.dir = 1; }
        recompute();
      });
    });
    $("rows").addEventListener("click", function (ev) {
      var tr = ev.target.closest("tr");
      if (tr) showImage(F[Number(tr.dataset.index)][FC.image]);
    });
    $("d-close").addEventListener("click", function () { $("detail").hidden = true; });
    document.addEventListener("keydown", function (ev) { if (ev.key === "Escape") $("detail").hidden = true; });
    bindPager();
    bindShortcuts();
  }

  function bindPager() {
    var go = function (p) { state.page = p; draw(); };
    $("p-first").addEventListener("click", function () { go(0); });
    $("p-prev").addEventListener("click", function () { go(Math.max(0, state.page - 1)); });
    $("p-next").addEventListener("click", function () { go(state.page + 1); });
    $("p-last").addEventListener("click", function () { go(Math.ceil(view.length / state.size) - 1); });
    $("p-size").addEventListener("change", function () { state.size = Number($("p-size").value); go(0); });
  }

  function setSelect(id, key, value) { $(id).value = String(value); state[key] = value; }
  function bindShortcuts() {
    document.querySelectorAll("button.card[data-severity]").forEach(function (card) {
      card.addEventListener("click", function () {
        document.querySelectorAll("input[name=severity]").forEach(function (box) {
          box.checked = box.value === card.dataset.severity;
          state.sevs[SEV.indexOf(box.value)] = box.checked;
        });
        recompute(); $("findings").scrollIntoView();
      });
    });
    var pick = function (attr, id, key, byRule) {
      document.querySelectorAll("a[" + attr + "]").forEach(function (a) {
        a.addEventListener("click", function (ev) {
          ev.preventDefault();
          var value = a.getAttribute(attr), idx = -1;
          if (byRule) RULES.forEach(function (r, i) { if (r.id === value) idx = i; });
          else idx = S.indexOf(value);
          setSelect(id, key, idx); recompute(); $("findings").scrollIntoView();
        });
      });
    };
    pick("data-filter-rule", "f-rule", "rule", true);
    pick("data-filter-region", "f-region", "region", false);
    pick("data-filter-account", "f-account", "account", false);
    pick("data-filter-tag", "f-tag", "tag", false);
    document.querySelectorAll("a[data-filter-untagged]").forEach(function (a) {
      a.addEventListener("click", function (ev) {
        ev.preventDefault(); setSelect("f-tag", "tag", UNTAGGED); recompute(); $("findings").scrollIntoView();
      });
    });
  }

  function reset() {
    $("filters").reset();
    SEV.forEach(function (s, i) { state.sevs[i] = true; });
    state.rule = state.region = state.owner = state.account = state.tag = state.status = state.baseline = -1;
    state.text = "";
    recompute();
  }

  // printing: every finding of the current filter (up to PRINT_MAX, in the order on screen)
  // instead of one page, and a note saying which; the screen's page comes back afterwards
  var PRINT_MAX = 5000;
  function printAll() {
    var n = Math.min(view.length, PRINT_MAX), frag = document.createDocumentFragment();
    for (var k = 0; k < n; k++) frag.appendChild(row(view[k]));
    $("rows").replaceChildren(frag);
    $("print-note").textContent = view.length > PRINT_MAX ?
      T("print_cut", { shown: PRINT_MAX, count: view.length }) : T("print_all", { count: view.length });
  }
  window.addEventListener("beforeprint", printAll);
  window.addEventListener("afterprint", draw);

  bind();
  recompute();
})();

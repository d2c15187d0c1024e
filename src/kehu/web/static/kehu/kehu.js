/* Kehu page behaviour. Plain JavaScript, no framework, no inline handlers (strict CSP).
 *
 * Hooks (data attributes) used by the templates:
 *   [data-kehu-theme-toggle]      button: flip light/dark, remembered in the kehu-theme cookie
 *   [data-kehu-autosubmit]        select/input: submit its form on change
 *   [data-kehu-autosubmit-button] the submit button shown only when JavaScript is off
 *   [data-kehu-select-all]        checkbox: toggle every input[name="ids"] in the same form
 *   [data-kehu-bulk-bar]          shown while rows are selected (same form), count in
 *   [data-kehu-selected-count]
 *   [data-kehu-confirm="text"]    form, or button/link: ask before submitting/following
 *   [data-kehu-search]            global search wrapper, with [data-kehu-search-input] and
 *   #global-search-results        the dropdown htmx fills; arrow keys move through its
 *   [data-kehu-search-result]     links
 *   select[data-kehu-picker="url"] a record picker (``platform/widgets.py``): a search box
 *                                 before the select asks url?q= and adds the record picked
 */
(function () {
  "use strict";

  var root = document.documentElement;

  // ---- dark mode -----------------------------------------------------------------------
  function setTheme(theme) {
    root.setAttribute("data-bs-theme", theme);
    document.cookie = "kehu-theme=" + theme + "; path=/; max-age=31536000; SameSite=Lax";
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-kehu-theme-toggle]");
    if (!toggle) return;
    event.preventDefault();
    setTheme(root.getAttribute("data-bs-theme") === "dark" ? "light" : "dark");
  });

  // ---- auto-submitting selects (language switch, filters) ------------------------------
  function hideFallbackButtons(scope) {
    scope.querySelectorAll("[data-kehu-autosubmit-button]").forEach(function (button) {
      button.hidden = true;
    });
  }

  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-kehu-autosubmit]");
    if (field && field.form) {
      if (typeof field.form.requestSubmit === "function") field.form.requestSubmit();
      else field.form.submit();
    }
  });

  // ---- bulk selection ------------------------------------------------------------------
  function bulkScope(element) {
    return element.form || element.closest("form") || document;
  }

  function rowBoxes(scope) {
    return Array.prototype.slice.call(scope.querySelectorAll('input[type="checkbox"][name="ids"]'));
  }

  function updateBulk(scope) {
    var boxes = rowBoxes(scope);
    var checked = boxes.filter(function (box) { return box.checked; }).length;
    scope.querySelectorAll("[data-kehu-select-all]").forEach(function (all) {
      all.checked = boxes.length > 0 && checked === boxes.length;
      all.indeterminate = checked > 0 && checked < boxes.length;
    });
    scope.querySelectorAll("[data-kehu-selected-count]").forEach(function (counter) {
      counter.textContent = String(checked);
    });
    scope.querySelectorAll("[data-kehu-bulk-bar]").forEach(function (bar) {
      bar.hidden = checked === 0;
    });
    boxes.forEach(function (box) {
      var row = box.closest("tr");
      if (row) row.classList.toggle("kehu-row-selected", box.checked);
    });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-kehu-select-all]")) {
      var scope = bulkScope(target);
      rowBoxes(scope).forEach(function (box) { box.checked = target.checked; });
      updateBulk(scope);
    } else if (target.matches('input[type="checkbox"][name="ids"]')) {
      updateBulk(bulkScope(target));
    }
  });

  function initBulk(container) {
    var scopes = new Set();
    container.querySelectorAll("[data-kehu-select-all], [data-kehu-bulk-bar]").forEach(function (el) {
      scopes.add(bulkScope(el));
    });
    scopes.forEach(updateBulk);
  }

  // ---- confirmations -------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var trigger = event.target.closest("a[data-kehu-confirm], button[data-kehu-confirm], input[data-kehu-confirm]");
    if (trigger && !window.confirm(trigger.getAttribute("data-kehu-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.matches("form[data-kehu-confirm]") && !window.confirm(form.getAttribute("data-kehu-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // htmx requests: hx-confirm is htmx's own; data-kehu-confirm on an htmx element also works.
  document.addEventListener("htmx:confirm", function (event) {
    var element = event.detail && event.detail.elt;
    if (!element || !element.matches || !element.matches("[data-kehu-confirm]")) return;
    if (element.tagName === "A" || element.tagName === "BUTTON" || element.tagName === "INPUT") return; // handled by click
    event.preventDefault();
    if (window.confirm(element.getAttribute("data-kehu-confirm"))) event.detail.issueRequest(true);
  });

  // ---- global search -------------------------------------------------------------------
  function searchResults() {
    return document.getElementById("global-search-results");
  }

  function openResults(open) {
    var results = searchResults();
    if (!results) return;
    var show = open && (results.children.length > 0 || results.textContent.trim() !== "");
    results.classList.toggle("show", Boolean(show));
    var input = document.querySelector("[data-kehu-search-input]");
    if (input) input.setAttribute("aria-expanded", show ? "true" : "false");
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var results = searchResults();
    if (results && event.target === results) {
      var input = document.querySelector("[data-kehu-search-input]");
      openResults(Boolean(input && input.value.trim()));
    }
    initBulk(event.target);
    hideFallbackButtons(event.target);
  });

  document.addEventListener("focusin", function (event) {
    if (event.target.matches("[data-kehu-search-input]") && event.target.value.trim()) openResults(true);
  });

  document.addEventListener("input", function (event) {
    if (event.target.matches("[data-kehu-search-input]") && !event.target.value.trim()) {
      var results = searchResults();
      if (results) results.innerHTML = "";
      openResults(false);
    }
  });

  document.addEventListener("click", function (event) {
    var wrapper = document.querySelector("[data-kehu-search]");
    if (wrapper && !wrapper.contains(event.target)) openResults(false);
  });

  // Arrow keys walk from the search box through the results and back; Enter opens one.
  function moveInResults(event) {
    var results = searchResults();
    if (!results || !results.classList.contains("show")) return;
    var links = Array.prototype.slice.call(results.querySelectorAll("a[data-kehu-search-result]"));
    if (!links.length) return;
    var input = document.querySelector("[data-kehu-search-input]");
    var index = links.indexOf(document.activeElement);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      links[Math.min(index + 1, links.length - 1)].focus();
    } else if (event.key === "ArrowUp" && index >= 0) {
      event.preventDefault();
      if (index === 0 && input) input.focus();
      else links[index - 1].focus();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    var wrapper = document.querySelector("[data-kehu-search]");
    if (wrapper && wrapper.contains(document.activeElement)) moveInResults(event);
  });

  function isTyping(element) {
    if (!element) return false;
    var tag = element.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || element.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    var input = document.querySelector("[data-kehu-search-input]");
    if (event.key === "Escape") {
      var results = searchResults();
      if (results && results.classList.contains("show")) {
        openResults(false);
        if (input && document.activeElement === input) input.blur();
      }
      return;
    }
    if (event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !isTyping(document.activeElement) && input) {
      event.preventDefault();
      // On phones the search sits in the collapsed menu: open it first.
      var collapse = input.closest(".navbar-collapse");
      if (collapse && !collapse.classList.contains("show") && window.getComputedStyle(collapse).display === "none" &&
          window.bootstrap && window.bootstrap.Collapse) {
        window.bootstrap.Collapse.getOrCreateInstance(collapse).show();
      }
      input.focus();
      input.select();
    }
  });

  // ---- record pickers -------------------------------------------------------------------
  // The select holds only the chosen record; the box searches the records the user may see.
  function initPickers(scope) {
    var selects = Array.prototype.slice.call(scope.querySelectorAll("select[data-kehu-picker]"));
    if (scope.matches && scope.matches("select[data-kehu-picker]")) selects.push(scope);
    selects.forEach(function (select) {
      if (select.kehuPicker) return;
      select.kehuPicker = true;
      var wrapper = document.createElement("div");
      wrapper.className = "dropdown kehu-picker mb-1";
      var input = document.createElement("input");
      input.type = "search";
      input.className = "form-control";
      input.autocomplete = "off";
      input.placeholder = select.getAttribute("data-kehu-picker-placeholder") || "";
      input.setAttribute("aria-label", input.placeholder);
      input.setAttribute("data-kehu-picker-input", "");
      var menu = document.createElement("div");
      menu.className = "dropdown-menu w-100";
      menu.setAttribute("data-kehu-picker-results", "");
      wrapper.appendChild(input);
      wrapper.appendChild(menu);
      select.parentNode.insertBefore(wrapper, select);
      var timer = null;
      var asked = 0;

      function show(results) {
        menu.textContent = "";
        if (!results.length) {
          var empty = document.createElement("span");
          empty.className = "dropdown-item-text text-secondary";
          empty.textContent = select.getAttribute("data-kehu-picker-empty") || "";
          menu.appendChild(empty);
        }
        results.forEach(function (result) {
          var item = document.createElement("button");
          item.type = "button";
          item.className = "dropdown-item";
          item.textContent = result.text;
          item.setAttribute("data-id", String(result.id));
          menu.appendChild(item);
        });
        menu.classList.add("show");
      }

      function search() {
        var mine = ++asked;
        var url = select.getAttribute("data-kehu-picker") + "?q=" + encodeURIComponent(input.value.trim());
        fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
          .then(function (response) { return response.ok ? response.json() : { results: [] }; })
          .then(function (data) { if (mine === asked) show(data.results || []); })
          .catch(function () { /* offline: the select keeps its value */ });
      }

      function pick(item) {
        var id = item.getAttribute("data-id");
        var option = Array.prototype.find.call(select.options, function (o) { return o.value === id; });
        if (!option) {
          option = new Option(item.textContent, id);
          select.add(option);
        }
        select.value = id;
        menu.classList.remove("show");
        input.value = "";
        select.dispatchEvent(new Event("change", { bubbles: true }));
      }

      // The box is not a field of the form: its typing submits nothing (filter panels
      // submit on change).
      input.addEventListener("change", function (event) { event.stopPropagation(); });
      input.addEventListener("input", function (event) {
        event.stopPropagation();
        window.clearTimeout(timer);
        timer = window.setTimeout(search, 250);
      });
      input.addEventListener("focus", search);
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          var first = menu.querySelector("button[data-id]");
          if (first && menu.classList.contains("show")) pick(first);
        } else if (event.key === "Escape") {
          menu.classList.remove("show");
        } else if (event.key === "ArrowDown") {
          var next = menu.querySelector("button[data-id]");
          if (next) { event.preventDefault(); next.focus(); }
        }
      });
      menu.addEventListener("click", function (event) {
        var item = event.target.closest("button[data-id]");
        if (item) pick(item);
      });
      document.addEventListener("click", function (event) {
        if (!wrapper.contains(event.target)) menu.classList.remove("show");
      });
    });
  }

  document.addEventListener("htmx:load", function (event) { initPickers(event.target); });

  // ---- start ---------------------------------------------------------------------------
  function init() {
    hideFallbackButtons(document);
    initBulk(document);
    initPickers(document);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();

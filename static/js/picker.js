/* Search-as-you-type for commune, district, agency and enterprise fields (programme.picker).
 *
 * Each .picker holds a text box (role=combobox), a hidden input with the id picked and a list
 * box. Typing asks the picker's JSON endpoint (scoped to the user on the server) for matches;
 * arrow keys move through them, Enter or a tap picks one, Escape closes the list. Editing the
 * text clears the id, so that the server resolves the text when nothing is picked again.
 * Without this script the text box is an ordinary one and the server resolves what was typed.
 *
 * A <select data-options-url data-options-from="<hidden id>"> (the plan items of a commune) is
 * refilled when that hidden id changes. No inline script or handler: CSP-friendly.
 */
(function () {
  "use strict";

  var DELAY = 200;

  function fetchJson(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fetch" },
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    });
  }

  function setUp(root) {
    var box = root.querySelector("input[type=text]");
    var hidden = root.querySelector("input[type=hidden]");
    var list = root.querySelector("[role=listbox]");
    var status = root.querySelector("[aria-live]");
    var url = root.getAttribute("data-picker-url");
    var results = [];
    var active = -1;
    var timer = null;
    var asked = 0; // the answer to an older request is dropped
    var pickedText = box.value;

    function say(text) {
      status.textContent = text;
    }

    function close() {
      list.hidden = true;
      box.setAttribute("aria-expanded", "false");
      box.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      var options = list.querySelectorAll("[role=option]");
      if (!options.length) return;
      active = (index + options.length) % options.length;
      options.forEach(function (option, i) {
        var on = i === active;
        option.setAttribute("aria-selected", on ? "true" : "false");
        option.classList.toggle("active", on);
        if (on) {
          box.setAttribute("aria-activedescendant", option.id);
          option.scrollIntoView({ block: "nearest" });
        }
      });
    }

    function pick(index) {
      var item = results[index];
      if (!item) return;
      box.value = item.label;
      pickedText = item.label;
      hidden.value = String(item.id);
      hidden.dispatchEvent(new Event("change", { bubbles: true }));
      close();
      say(item.label);
    }

    function show(data) {
      results = data.results || [];
      list.textContent = "";
      results.forEach(function (item, i) {
        var option = document.createElement("li");
        option.id = box.id + "_option_" + i;
        option.className = "list-group-item list-group-item-action";
        option.setAttribute("role", "option");
        option.setAttribute("aria-selected", "false");
        option.textContent = item.label;
        list.appendChild(option);
      });
      if (data.more) {
        var more = document.createElement("li");
        more.className = "list-group-item small text-body-secondary";
        more.setAttribute("aria-disabled", "true");
        more.textContent = root.getAttribute("data-msg-more");
        list.appendChild(more);
      }
      if (!results.length) {
        var none = document.createElement("li");
        none.className = "list-group-item small text-body-secondary";
        none.setAttribute("aria-disabled", "true");
        none.textContent = root.getAttribute("data-msg-none");
        list.appendChild(none);
      }
      list.hidden = false;
      box.setAttribute("aria-expanded", "true");
      active = -1;
      say(root.getAttribute("data-msg-count").replace("%(count)s", String(results.length)));
    }

    function search() {
      var ask = ++asked;
      fetchJson(url + "?q=" + encodeURIComponent(box.value.trim()))
        .then(function (data) {
          if (ask === asked && document.activeElement === box) show(data);
        })
        .catch(function () {
          close(); // the server resolves the typed text on submit
        });
    }

    box.addEventListener("input", function () {
      if (hidden.value && box.value !== pickedText) {
        hidden.value = "";
        hidden.dispatchEvent(new Event("change", { bubbles: true }));
      }
      clearTimeout(timer);
      timer = setTimeout(search, DELAY);
    });

    box.addEventListener("focus", function () {
      if (!hidden.value) {
        clearTimeout(timer);
        timer = setTimeout(search, 0);
      }
    });

    box.addEventListener("keydown", function (event) {
      var open = !list.hidden;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open) search();
        else highlight(active + 1);
      } else if (event.key === "ArrowUp") {
        if (open) {
          event.preventDefault();
          highlight(active - 1);
        }
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault(); // pick, do not submit the form
          pick(active);
        } else if (open && results.length === 1) {
          event.preventDefault();
          pick(0);
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        }
      }
    });

    // mousedown (not click) so that the text box keeps its focus until the pick is done.
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    list.addEventListener("click", function (event) {
      var option = event.target.closest("[role=option]");
      if (!option) return;
      var options = Array.prototype.slice.call(list.querySelectorAll("[role=option]"));
      pick(options.indexOf(option));
      box.focus();
    });

    box.addEventListener("blur", function () {
      setTimeout(close, 150);
    });
  }

  function setUpDependent(select) {
    var source = document.getElementById(select.getAttribute("data-options-from"));
    if (!source) return;
    var url = select.getAttribute("data-options-url");
    source.addEventListener("change", function () {
      var kept = {};
      Array.prototype.forEach.call(select.selectedOptions, function (option) {
        kept[option.value] = true;
      });
      var fill = function (data) {
        var blank = select.multiple ? null : select.querySelector("option[value='']");
        select.textContent = "";
        if (blank) select.appendChild(blank);
        (data.results || []).forEach(function (item) {
          var option = document.createElement("option");
          option.value = String(item.id);
          option.textContent = item.label;
          option.selected = !!kept[option.value];
          select.appendChild(option);
        });
      };
      if (!source.value) {
        fill({ results: [] });
        return;
      }
      fetchJson(url + "?commune=" + encodeURIComponent(source.value))
        .then(fill)
        .catch(function () {});
    });
  }

  function start() {
    document.querySelectorAll(".picker[data-picker-url]").forEach(setUp);
    document.querySelectorAll("select[data-options-url][data-options-from]").forEach(setUpDependent);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();

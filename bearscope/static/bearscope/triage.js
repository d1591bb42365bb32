// Progressive enhancement of the review form: without this script the sub-intent select still
// works (grouped by intent, checked on the server); with it, only the chosen intent's sub-intents
// are offered, each intent keeps the sub-intent last chosen for it, Ctrl/Cmd+Enter in the note saves
// and Alt+S saves in every browser.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) return;
  var intent = form.querySelector("select[name=intent]");
  var sub = form.querySelector("select[name=sub_intent]");
  if (intent && sub) {
    // Keep every option aside once, then put back only the ones of the chosen intent.
    var all = Array.prototype.slice.call(sub.querySelectorAll("option[data-intent]"));
    var groups = Array.prototype.slice.call(sub.querySelectorAll("optgroup"));
    // The sub-intent chosen for each intent: arrowing through the intent list fires a change per
    // intent passed, and coming back to an intent must bring its sub-intent back, not "No sub-intent".
    var chosenFor = {};
    var shown = intent.value;
    chosenFor[shown] = sub.value;
    var filter = function () {
      var chosen = intent.value;
      groups.forEach(function (group) { group.remove(); });
      all.forEach(function (option) { option.remove(); });
      all.forEach(function (option) {
        if (option.getAttribute("data-intent") === chosen) sub.appendChild(option);
      });
      var keep = chosenFor[chosen] || "";
      var stillThere = all.some(function (o) { return o.value === keep && o.parentNode === sub; });
      sub.value = stillThere ? keep : "";
      sub.disabled = sub.options.length <= 1;
      shown = chosen;
    };
    filter();
    intent.addEventListener("change", function () {
      if (intent.value === shown) return;
      filter();
    });
    sub.addEventListener("change", function () { chosenFor[shown] = sub.value; });
  }
  var saving = false;
  form.addEventListener("submit", function (event) {
    // One save per page: a key held down or pressed twice must not post the review again.
    if (saving) event.preventDefault();
    saving = true;
  });
  var note = form.querySelector("textarea[name=note]");
  if (note) {
    note.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }
  // The button's accesskey is Alt+S in Chrome but Alt+Shift+S in Firefox, where Alt+S opens the
  // History menu; this makes Alt+S save in both. Chrome has already used the accesskey when the
  // event reaches us (defaultPrevented), so it never saves twice.
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || !event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.code !== "KeyS") return;
    event.preventDefault();
    form.requestSubmit();
  });
})();
